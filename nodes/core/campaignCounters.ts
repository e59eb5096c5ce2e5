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

/** Counter increments for one or more campaigns, built up while a batch is handled. */
export class CounterDeltas {
	private readonly byCampaign = new Map<string, Record<string, number>>();

	private bump(campaignId: string, name: string, by = 1) {
		let deltas = this.byCampaign.get(campaignId);
		// No prototype: a name such as "constructor" is a counter like any other, never Object's.
		if (!deltas) this.byCampaign.set(campaignId, (deltas = Object.create(null) as Record<string, number>));
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
	): void {
		if (!campaignId) return;
		this.bump(campaignId, name, -1);
		if (by.variant) this.bump(campaignId, `variant:${by.variant}:${name}`, -1);
		for (const code of codes) this.bump(campaignId, `${name}:${code}`, -1);
	}

	/** A total, and the same total for its variant and its hour when given. */
	add(campaignId: string | undefined, name: CounterName, by: { variant?: string; at?: number } = {}): void {
		if (!campaignId) return;
		this.bump(campaignId, name);
		if (by.variant) this.bump(campaignId, `variant:${by.variant}:${name}`);
		if (by.at !== undefined) this.bump(campaignId, `hour:${hourBucket(by.at)}:${name}`);
	}

	/** What Meta bills for one delivered message (the Delivery Monitor counts it at the first delivery). */
	addPricing(campaignId: string | undefined, pricing: MessagePricing, country: string | undefined): void {
		if (!campaignId) return;
		if (!pricing.billable) return this.bump(campaignId, `free:${pricing.freeType}`);
		this.bump(campaignId, `billed:${pricing.category}`);
		if (country && /^[A-Z]{2}$/.test(country)) this.bump(campaignId, `billedIn:${country}:${pricing.category}`);
	}

	/** A count by Meta error code or by our reason (`failed:131026`, `notSent:PAUSED`). */
	addKeyed(campaignId: string | undefined, name: KeyedCounter, key: string | number): void {
		if (campaignId) this.bump(campaignId, `${name}:${key}`);
	}

	campaigns(): string[] {
		return [...this.byCampaign.keys()];
	}

	entries(): Array<[campaignId: string, deltas: Record<string, number>]> {
		return [...this.byCampaign.entries()];
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
