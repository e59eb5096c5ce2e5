import type { CounterDeltas } from '../../core/campaignCounters';
import type { ComplianceStore } from '../../store/types';

export interface MonitorOptions {
	optOutKeywords: readonly string[];
	resubscribeKeywords: readonly string[];
	optOutPayloads: readonly string[];
	/** A "resume" in WhatsApp's marketing preferences restores consent (off: only recorded). */
	resumeRestoresConsent: boolean;
	autoPause: AutoPauseRules | undefined;
	now: number;
}

export interface AutoPauseRules {
	minimumFinal: number;
	minDeliveryRate: number;
	maxOptOutRate: number;
}

/** One item per output of the Delivery Monitor. */
export interface EmittedItems {
	status: Array<Record<string, unknown>>;
	inbound: Array<Record<string, unknown>>;
	optOut: Array<Record<string, unknown>>;
	alert: Array<Record<string, unknown>>;
}

/** What every handler of one webhook delivery shares. */
export interface DeliveryContext {
	store: ComplianceStore;
	options: MonitorOptions;
	counters: CounterDeltas;
	out: EmittedItems;
}

export const iso = (ms: number) => new Date(ms).toISOString();
/** A wa_id as the E.164 number the store keys. */
export const e164 = (waId: string) => `+${waId.replace(/\D/g, '')}`;
