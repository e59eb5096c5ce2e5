import type { CounterDeltas } from '../../core/campaignCounters';
import { canonicalNumber } from '../../core/contactIdentity';
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
/** A wa_id as an E.164 number (as Meta sent it; the store keys its canonical form). */
export const e164 = (waId: string) => `+${waId.replace(/\D/g, '')}`;

/**
 * The store key of the person a wa_id names, or undefined when the update carries no usable number:
 * such an update is never written against a made-up contact (it is still emitted).
 */
export function contactKeyOf(store: ComplianceStore, waId: unknown): string | undefined {
	if (typeof waId !== 'string' && typeof waId !== 'number') return undefined;
	const number = canonicalNumber(String(waId));
	return number ? store.contactKey(number) : undefined;
}
