/**
 * The frequency-cap decision for one contact, from the facts the store holds at that instant. The
 * SQLite backend calls this inside its write transaction; the Redis backend's Lua script mirrors it
 * line for line (nodes/store/caps/redis.ts, its reason codes from CAP_DENIALS). Both are held to the same
 * behavioural test suite.
 *
 * Windows are rolling and half-open: a send exactly `windowMs` ago no longer counts, a gap of exactly
 * `minGapMs` is enough.
 */
import { HOUR_MS, DAY_MS } from './time';
import { CAP_DENIALS, META_HOLD_CATEGORIES, type CapDecision, type CapRequest } from './types';

export interface CapFacts {
	/** Times of this contact's live sends and reservations in this category, ascending. */
	contactTimes: readonly number[];
	/** The latest of those that is a confirmed send (undefined: none). */
	lastConfirmed?: number;
	/** When the latest unconfirmed reservation among them lapses (undefined: none). */
	pendingUntil?: number;
	holdUntil?: number;
	/** The phone number's live sends and reservations in the last hour and the last 24 h. */
	phoneLastHour: number;
	phoneLast24h: number;
	/** Time of the phone number's n-th most recent live send (asked only when a budget is full). */
	phoneNthLatest: (n: number) => number;
	/** Contacts the phone number reached in the last 24 h. */
	uniqueReached: number;
	/** Whether this contact is one of them (messaging them again costs no unique-contact slot). */
	contactAlreadyReached: boolean;
	/** When the earliest of them leaves the 24 h window (asked only when the limit is hit). */
	earliestUniqueExpiry: () => number;
	/** Estimated cost (COST_UNITS) of the number's live sends and reservations on the request's spend day. */
	spendToday?: number;
	/** Estimated cost of the campaign's live sends and reservations. */
	campaignSpend?: number;
}

/** Index of the first time strictly after `since` in an ascending list. */
function firstAfter(times: readonly number[], since: number): number {
	let low = 0;
	let high = times.length;
	while (low < high) {
		const mid = (low + high) >>> 1;
		if (times[mid] > since) high = mid;
		else low = mid + 1;
	}
	return low;
}

export function decideCap(request: CapRequest, facts: CapFacts, now: number): CapDecision {
	if (META_HOLD_CATEGORIES.includes(request.category) && facts.holdUntil !== undefined && facts.holdUntil > now) {
		return { allowed: false, reason: CAP_DENIALS.META_HOLD, nextAllowedAt: facts.holdUntil };
	}
	const rule = request.rule;
	if (rule) {
		const times = facts.contactTimes;
		const last = times.at(-1);
		if (rule.minGapMs > 0 && last !== undefined && now - last < rule.minGapMs) {
			const sentRecently = facts.lastConfirmed !== undefined && now - facts.lastConfirmed < rule.minGapMs;
			// Only a reservation (nothing sent yet): say so, and when it lapses at the latest.
			if (!sentRecently && facts.pendingUntil !== undefined)
				return { allowed: false, reason: CAP_DENIALS.RESERVED, nextAllowedAt: facts.pendingUntil };
			return {
				allowed: false,
				reason: CAP_DENIALS.MIN_GAP,
				nextAllowedAt: (sentRecently ? facts.lastConfirmed! : last) + rule.minGapMs,
			};
		}
		// Full when `maxCount` sends are in the window; room again when the maxCount-th most recent leaves it.
		if (rule.maxCount > 0 && times.length - firstAfter(times, now - rule.windowMs) >= rule.maxCount) {
			return {
				allowed: false,
				reason: CAP_DENIALS.CONTACT_CAP,
				nextAllowedAt: times[times.length - rule.maxCount] + rule.windowMs,
			};
		}
	}
	const budgets = request.budgets ?? {};
	if (budgets.messagesPerHour !== undefined && facts.phoneLastHour >= budgets.messagesPerHour) {
		return {
			allowed: false,
			reason: CAP_DENIALS.HOURLY_BUDGET,
			nextAllowedAt: facts.phoneNthLatest(budgets.messagesPerHour) + HOUR_MS,
		};
	}
	if (budgets.messagesPerDay !== undefined && facts.phoneLast24h >= budgets.messagesPerDay) {
		return {
			allowed: false,
			reason: CAP_DENIALS.DAILY_BUDGET,
			nextAllowedAt: facts.phoneNthLatest(budgets.messagesPerDay) + DAY_MS,
		};
	}
	if (
		budgets.uniqueContactsPer24h !== undefined &&
		!facts.contactAlreadyReached &&
		facts.uniqueReached >= budgets.uniqueContactsPer24h
	) {
		return { allowed: false, reason: CAP_DENIALS.UNIQUE_CONTACTS_LIMIT, nextAllowedAt: facts.earliestUniqueExpiry() };
	}
	// A budget is spent when this message would take it past the amount (a free message always fits).
	const spend = request.spend;
	if (spend && spend.units > 0) {
		if (spend.perDay !== undefined && (facts.spendToday ?? 0) + spend.units > spend.perDay)
			return { allowed: false, reason: CAP_DENIALS.SPEND_BUDGET, nextAllowedAt: spend.nextDay };
		if (spend.perCampaign !== undefined && (facts.campaignSpend ?? 0) + spend.units > spend.perCampaign)
			return { allowed: false, reason: CAP_DENIALS.SPEND_BUDGET, nextAllowedAt: null };
	}
	return { allowed: true };
}
