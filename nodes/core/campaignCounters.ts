/**
 * The names of a campaign's counters: one writer (CounterDeltas, used by Template Send and the
 * Delivery Monitor) and one reader (readCounters, used by the campaign report and the auto-pause), so
 * the format lives here only. A name is a total (`sent`), a total by code or reason
 * (`failed:131026`, `notSent:PAUSED`), by A/B variant (`variant:B:read`) or by UTC hour
 * (`hour:2026-12-02T11:delivered`), or what Meta bills (core/pricing.ts): billed messages by category
 * (`billed:marketing`) and by destination country (`billedIn:FR:marketing`), free ones by type
 * (`free:free_customer_service`).
 */
import type { MessagePricing } from './pricing';

/** Totals, as both nodes count them. */
export type CounterName =
	/** Template Send: Meta accepted the request. */
	| 'sent'
	/** Template Send: Meta refused it (or the item was unusable). */
	| 'failed'
	/** Template Send: left on Not Sent. */
	| 'notSent'
	/** Delivery Monitor: once per message, implied by read and played. */
	| 'delivered'
	| 'read'
	| 'played'
	/** Delivery Monitor: a `failed` status (not Template Send's `failed`). */
	| 'deliveryFailed'
	/** Delivery Monitor: Meta's own `sent` status (Template Send's `sent` counts acceptance). */
	| 'statusSent'
	/** Delivery Monitor: a status of the campaign that names nobody usable (no number, no BSUID). */
	| 'unattributed'
	| 'optOut';

/** Counters keyed by code or reason: `<stage>:<code or reason>`. */
export type KeyedCounter = 'failed' | 'deliveryFailed' | 'notSent';

/** The UTC hour of a time, as the timeline keys it: `2026-12-02T11`. */
export function hourBucket(ms: number): string {
	return new Date(ms).toISOString().slice(0, 13);
}

/**
 * What one webhook fact justifies: the counter increments it adds, per campaign. `fact` is the dedupe
 * key of the fact (a message's delivery, one of its statuses, an inbound message); the store applies
 * the increments together with the fact's mark, and only if the mark is new (WebhookDedupe.commit), so
 * two deliveries racing with the same fact count it once. Without a fact they always apply.
 */
export interface CountedFact {
	fact?: string;
	counters: Array<[campaignId: string, deltas: Record<string, number>]>;
}

/**
 * Counter increments for one or more campaigns, built up while a batch is handled; each increment may
 * name the fact that justifies it (the last argument of each method).
 */
export class CounterDeltas {
	/** By fact ('' for none), then by campaign. */
	private readonly byFact = new Map<string, Map<string, Record<string, number>>>();

	private bump(campaignId: string, name: string, by: number, fact: string | undefined) {
		let campaigns = this.byFact.get(fact ?? '');
		if (!campaigns) this.byFact.set(fact ?? '', (campaigns = new Map()));
		let deltas = campaigns.get(campaignId);
		// No prototype: a name such as "constructor" is a counter like any other, never Object's.
		if (!deltas) campaigns.set(campaignId, (deltas = Object.create(null) as Record<string, number>));
		deltas[name] = (deltas[name] ?? 0) + by;
	}

	/**
	 * Takes back what an earlier delivery counted (a failure that a later delivery contradicts): the
	 * total, its variant and its codes. The hour it was counted in is not known here, so the timeline
	 * keeps it.
	 */
	undo(
		campaignId: string | undefined,
		name: CounterName & KeyedCounter,
		by: { variant?: string },
		codes: ReadonlyArray<string | number>,
		fact?: string,
	): void {
		if (!campaignId) return;
		this.bump(campaignId, name, -1, fact);
		if (by.variant) this.bump(campaignId, `variant:${by.variant}:${name}`, -1, fact);
		for (const code of codes) this.bump(campaignId, `${name}:${code}`, -1, fact);
	}

	/** A total, and the same total for its variant and its hour when given. */
	add(
		campaignId: string | undefined,
		name: CounterName,
		by: { variant?: string; at?: number } = {},
		fact?: string,
	): void {
		if (!campaignId) return;
		this.bump(campaignId, name, 1, fact);
		if (by.variant) this.bump(campaignId, `variant:${by.variant}:${name}`, 1, fact);
		if (by.at !== undefined) this.bump(campaignId, `hour:${hourBucket(by.at)}:${name}`, 1, fact);
	}

	/** What Meta bills for one delivered message (the Delivery Monitor counts it at the first delivery). */
	addPricing(
		campaignId: string | undefined,
		pricing: MessagePricing,
		country: string | undefined,
		fact?: string,
	): void {
		if (!campaignId) return;
		if (!pricing.billable) return this.bump(campaignId, `free:${pricing.freeType}`, 1, fact);
		this.bump(campaignId, `billed:${pricing.category}`, 1, fact);
		if (country && /^[A-Z]{2}$/.test(country))
			this.bump(campaignId, `billedIn:${country}:${pricing.category}`, 1, fact);
	}

	/** A count by Meta error code or by our reason (`failed:131026`, `notSent:PAUSED`). */
	addKeyed(campaignId: string | undefined, name: KeyedCounter, key: string | number, fact?: string): void {
		if (campaignId) this.bump(campaignId, `${name}:${key}`, 1, fact);
	}

	campaigns(): string[] {
		return [...new Set([...this.byFact.values()].flatMap((campaigns) => [...campaigns.keys()]))];
	}

	/** Every increment per campaign, whatever fact it hangs on. */
	entries(): Array<[campaignId: string, deltas: Record<string, number>]> {
		const merged = new Map<string, Record<string, number>>();
		for (const campaigns of this.byFact.values())
			for (const [campaignId, deltas] of campaigns) {
				let total = merged.get(campaignId);
				if (!total) merged.set(campaignId, (total = Object.create(null) as Record<string, number>));
				for (const [name, delta] of Object.entries(deltas)) total[name] = (total[name] ?? 0) + delta;
			}
		return [...merged.entries()];
	}

	/** The increments grouped by the fact that justifies them (WebhookDedupe.commit). */
	facts(): CountedFact[] {
		return [...this.byFact.entries()].map(([fact, campaigns]) => ({
			...(fact ? { fact } : {}),
			counters: [...campaigns.entries()],
		}));
	}
}

export interface ReadCounters {
	total: (name: CounterName) => number;
	/** Counts by Meta error code (numeric keys only), per stage. */
	failuresByCode: Array<{ stage: 'send' | 'delivery'; code: number; count: number }>;
	notSentByReason: Record<string, number>;
	variants: Record<string, Record<string, number>>;
	/** Per UTC hour (`2026-12-02T11`), counts by name. */
	hours: Record<string, Record<string, number>>;
	/** Messages Meta bills, by pricing category and by destination country; free ones by type. */
	pricing: {
		billed: Record<string, number>;
		billedByCountry: Record<string, Record<string, number>>;
		free: Record<string, number>;
	};
}

export function readCounters(counters: Record<string, number>): ReadCounters {
	const failuresByCode: ReadCounters['failuresByCode'] = [];
	const notSentByReason: Record<string, number> = {};
	const variants: ReadCounters['variants'] = {};
	const hours: ReadCounters['hours'] = {};
	const pricing: ReadCounters['pricing'] = { billed: {}, billedByCountry: {}, free: {} };
	for (const [name, value] of Object.entries(counters)) {
		const billed = /^billed:(\w+)$/.exec(name);
		if (billed) pricing.billed[billed[1]] = value;
		const billedIn = /^billedIn:([A-Z]{2}):(\w+)$/.exec(name);
		if (billedIn) (pricing.billedByCountry[billedIn[1]] ??= {})[billedIn[2]] = value;
		const free = /^free:(\w+)$/.exec(name);
		if (free) pricing.free[free[1]] = value;
		const keyed = /^(failed|deliveryFailed|notSent):(\w+)$/.exec(name);
		if (keyed) {
			if (keyed[1] === 'notSent') notSentByReason[keyed[2]] = value;
			else if (/^\d+$/.test(keyed[2]))
				failuresByCode.push({
					stage: keyed[1] === 'failed' ? 'send' : 'delivery',
					code: Number(keyed[2]),
					count: value,
				});
			continue;
		}
		const variant = /^variant:([^:]+):(\w+)$/.exec(name);
		if (variant) (variants[variant[1]] ??= {})[variant[2]] = value;
		const hour = /^hour:(\d{4}-\d\d-\d\dT\d\d):(\w+)$/.exec(name);
		if (hour) (hours[hour[1]] ??= {})[hour[2]] = value;
	}
	return { total: (name) => counters[name] ?? 0, failuresByCode, notSentByReason, variants, hours, pricing };
}

/**
 * A resumed campaign keeps its counters; Campaign Control stores them in the resume's details so the
 * auto-pause judges only what happened since (or it would pause again on the very next status).
 */
export function resumeDetails(counters: Record<string, number>): Record<string, unknown> {
	return { countersAtResume: counters };
}

/** The counters since the campaign's last resume (all of them when it was never resumed). */
export function countersSinceResume(
	counters: Record<string, number>,
	resume: { details?: Record<string, unknown> } | undefined,
): Record<string, number> {
	const baseline = (resume?.details?.countersAtResume ?? {}) as Record<string, number>;
	const result: Record<string, number> = {};
	for (const [name, value] of Object.entries(counters)) result[name] = value - (baseline[name] ?? 0);
	return result;
}
