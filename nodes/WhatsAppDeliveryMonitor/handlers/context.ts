import type { CounterDeltas } from '../../core/campaignCounters';
import { aliasIdentifiers, primaryIdentifier, type PersonIdentifiers } from '../../core/contactIdentity';
import { WEBHOOK_DEDUPE_TTL_MS } from '../../core/retention';
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
	dedupe: DeliveryDedupe;
}

/**
 * Each fact of a delivery is applied once: a key already marked (an earlier delivery) or already met in
 * this one is not new. Marks are written only after the delivery's effects (`commit`), never before:
 * if a write fails, Meta's retry applies what was not marked.
 */
export class DeliveryDedupe {
	private readonly store: ComplianceStore;
	private readonly met = new Set<string>();
	/** What the store said of keys already read in this delivery (marks are only written at commit). */
	private readonly marked = new Map<string, boolean>();

	constructor(store: ComplianceStore) {
		this.store = store;
	}

	/** Reads the marks of these keys in one call, so later questions about them cost no store read. */
	async prefetch(keys: string[]): Promise<void> {
		const unknown = [...new Set(keys.filter((key) => !this.marked.has(key)))];
		if (!unknown.length) return;
		const seen = await this.store.dedupe.seen(unknown);
		unknown.forEach((key, i) => this.marked.set(key, seen[i]));
	}

	/** Whether each key was marked by an earlier delivery or met in this one (nothing is marked). */
	async has(keys: string[]): Promise<boolean[]> {
		await this.prefetch(keys);
		return keys.map((key) => this.marked.get(key)! || this.met.has(key));
	}

	async isNew(keys: string[]): Promise<boolean[]> {
		const known = await this.has(keys);
		return keys.map((key, i) => {
			if (known[i] || this.met.has(key)) return false;
			this.met.add(key);
			return true;
		});
	}

	/**
	 * Marks what this delivery met and writes the counters its facts justify, in one atomic store step:
	 * a fact another delivery marked meanwhile adds nothing (WebhookDedupe.commit).
	 */
	async commit(counters: CounterDeltas): Promise<void> {
		const counted = counters.facts();
		if (this.met.size || counted.length) await this.store.dedupe.commit([...this.met], counted, WEBHOOK_DEDUPE_TTL_MS);
	}
}

export const iso = (ms: number) => new Date(ms).toISOString();
/** A wa_id as an E.164 number (as Meta sent it; the store keys its canonical form). */
export const e164 = (waId: string) => `+${waId.replace(/\D/g, '')}`;

/**
 * The store key of the person an update names, or undefined when it carries no usable identifier: such
 * an update is never written against a made-up contact (it is still emitted). The number when Meta gave
 * one, with the BSUIDs it came with linked to it (what was recorded under them follows); else the
 * BSUID, resolved to the number Meta paired it with earlier, if any.
 *
 * `resolveNumber`: a wa_id is also looked up among the links, for the rare wa_id that keys apart from
 * the number it was sent to in a form no rule knows (Template Send links it from Meta's answer,
 * `contacts[].wa_id`). Inbound updates ask for it; statuses, the volume, ask only when their tag says
 * the message went to someone else (handlers/statuses.ts).
 */
export async function personKey(
	{ store }: Pick<DeliveryContext, 'store'>,
	ids: PersonIdentifiers,
	at: number,
	{ resolveNumber = false }: { resolveNumber?: boolean } = {},
): Promise<string | undefined> {
	const primary = primaryIdentifier(ids);
	if (!primary) return undefined;
	const [key] =
		ids.waId && !resolveNumber
			? [store.contactKey(primary)]
			: await store.identities.resolve([store.contactKey(primary)]);
	for (const alias of aliasIdentifiers(ids)) await store.identities.link(store.contactKey(alias), key, at);
	return key;
}

/** How an emitted item names the person: the number, else the BSUID. */
export const personLabel = (ids: PersonIdentifiers): string | null =>
	ids.waId ? e164(ids.waId) : (ids.userId ?? ids.parentUserId ?? null);
