/**
 * The compliance store: the state the Consent Gate, Frequency Cap, Template Send and Delivery Monitor
 * share across workflows, executions and (with Redis) n8n workers. One store object opens one SQLite
 * file or one Redis connection and offers it by concern, each an interface of a few methods; each
 * concern has its two backends side by side in its own folder (ledger/, caps/, sendLog/,
 * campaignState/, limiter/, dedupe/), held to the same behaviour by test/store/storeBehaviour.test.ts.
 *
 * Contacts are identified by `contactKey`: HMAC-SHA256 of the E.164 number under a secret kept in the
 * store. No plain phone number is ever written. The domain types come from core/.
 */
import type { CountedFact } from '../core/campaignCounters';
import type {
	CapDecision,
	CapRequest,
	ClaimResult,
	ConsentEvent,
	ConsentEventInput,
	ConsentScope,
	ContactState,
	PauseScope,
	PauseState,
	SendState,
	SuppressionReason,
} from '../core/types';

/** The consent ledger (append-only) and the suppression list. */
export interface ConsentLedger {
	recordConsent(events: ConsentEventInput[]): Promise<void>;
	consentHistory(contactKey: string): Promise<ConsentEvent[]>;
	/** Suppress without a ledger event (imports, 131050). */
	suppress(
		entries: Array<{ contactKey: string; category: ConsentScope; reason: SuppressionReason; at: number }>,
	): Promise<void>;
	/** Removes suppressions of the given reasons (a user who resumed marketing inside WhatsApp). */
	liftSuppressions(
		entries: Array<{ contactKey: string; category: ConsentScope; reasons: SuppressionReason[] }>,
	): Promise<void>;
	/** Erases the contact's ledger and facts, keeping a suppression marker for every category. */
	forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }>;
	/** Consent, suppressions and facts of a whole batch of contacts, in one call. */
	contactStates(contactKeys: string[]): Promise<Map<string, ContactState>>;
}

/** What the Delivery Monitor learns about a contact. A later value wins; a late retry changes nothing. */
export interface ContactFacts {
	markUndeliverable(contactKey: string, at: number): Promise<void>;
	/** A delivery proved the contact reachable: an undeliverable mark set at or before `upTo` is cleared. */
	clearUndeliverable(contactKey: string, upTo: number): Promise<void>;
	/** Meta asked not to message this contact before `until` (131049); the cap refuses until then. */
	holdContact(contactKey: string, until: number): Promise<void>;
	recordInteraction(contactKey: string, at: number): Promise<void>;
}

/**
 * One person, several identifiers: a BSUID (or parent BSUID) Meta pairs with a number is an alias of
 * the number's contact (core/contactIdentity.ts). Both are keyed hashes.
 */
export interface ContactIdentities {
	/**
	 * Records that `aliasKey` names the contact `contactKey` (the first pairing wins) and, when the link is
	 * new, carries what was recorded under the alias (ledger, suppressions, facts) to the contact, in one
	 * atomic step. True when the link is new.
	 */
	link(aliasKey: string, contactKey: string, at: number): Promise<boolean>;
	/** Each key's contact: the one it is an alias of, else itself. */
	resolve(keys: string[]): Promise<string[]>;
}

/** Frequency caps: atomic check-and-reserve, batched (the rule is core/frequencyCaps.ts). */
export interface FrequencyCapStore {
	reserve(requests: CapRequest[], now: number): Promise<CapDecision[]>;
	/** The message went out: the reservation becomes a send at `at`. */
	confirmReservation(reservationId: string, at: number): Promise<boolean>;
	/** The message will not go out (permanent failure): the slot is freed. */
	releaseReservation(reservationId: string): Promise<boolean>;
}

/** Each campaign's sends: never twice to the same recipient. */
export interface SendLog {
	/**
	 * Claims a recipient for `owner` (one execution) right before its request, as in flight until
	 * `claimTtlMs`. Its own earlier claim (a retry) the owner takes again; a recipient already sent, or
	 * with another owner's request in flight, is answered with that state instead.
	 */
	claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
	): Promise<ClaimResult>;
	/**
	 * Read-only, for many recipients at once: those already sent in the campaign, and those with a
	 * request in flight (not expired at `now`). Recipients not in the map are free.
	 */
	sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>>;
	completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void>;
	/** The contact's most recent send in any campaign (to attribute a STOP reply to its campaign). */
	lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined>;
	/** Drops the owner's claim (not sent: the recipient may be sent later). */
	releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void>;
	/**
	 * The owner's request reached Meta and got no answer: the claim becomes `in_doubt`, which does not
	 * expire and is settled only by completeSend (its status webhook).
	 */
	markInDoubt(campaignId: string, contactKey: string, owner: string, at: number): Promise<void>;
	/**
	 * An operator's decision (Campaign Control): the in-doubt send was not delivered, so the campaign
	 * may send to the recipient again. Only an `in_doubt` claim is dropped; true when one was.
	 */
	releaseInDoubt(campaignId: string, contactKey: string): Promise<boolean>;
}

/** Campaign counters (names: core/campaignCounters.ts) and pauses. */
export interface CampaignState {
	incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void>;
	counters(campaignId: string): Promise<Record<string, number>>;
	setPause(state: PauseState): Promise<void>;
	/** The first paused state among the given scopes, or undefined when none is paused. */
	activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined>;
	pauses(): Promise<PauseState[]>;
}

export interface SendSlots {
	/** The limiter's clock when it granted the slots (Redis' clock with the Redis store). */
	now: number;
	/** For each slot, milliseconds to wait from `now`. */
	waits: number[];
}

/** Throughput per phone number (GCRA, core/throughput.ts), shared by every execution using the store. */
export interface SendLimiter {
	/** Takes `count` slots at `ratePerSecond` and returns, for each, how long to wait before sending. */
	acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots>;
	/**
	 * One more request may leave from the number now (recorded: wait 0 and the departure's ticket) unless
	 * `limit` already left within `windowMs`, counted across every process on the store; then, how long
	 * to wait before asking again (core/throughput.ts, departureWait). `replacing`: an earlier admission
	 * of this caller whose request has not left (it came too late to be used); it stops counting in the
	 * same step, whatever the answer.
	 */
	admitDeparture(phoneNumberId: string, limit: number, windowMs: number, replacing?: string): Promise<Departure>;
}

/** What admitDeparture answered: 0 and the departure's ticket when admitted, else how long to wait. */
export interface Departure {
	wait: number;
	ticket?: string;
}

export interface WebhookDedupe {
	/** Read-only: true for keys marked seen and not expired. */
	seen(keys: string[]): Promise<boolean[]>;
	/**
	 * True for keys not seen within `ttlMs` (now marked seen), false for repeats. The Delivery Monitor
	 * marks a fact seen only after its effects are written, so a failure in between is retried by Meta.
	 */
	markSeen(keys: string[], ttlMs: number): Promise<boolean[]>;
	/**
	 * The end of one webhook delivery, in one atomic step: each counted fact's mark is set if it is new,
	 * and only then are its counter increments applied (increments without a fact always are); then
	 * the other `marks`. Two deliveries racing with the same fact (Meta's `delivered` and `read` of one
	 * message in concurrent POSTs, the same POST retried meanwhile) count it once, and a delivery that
	 * failed before this step is applied whole by Meta's retry.
	 */
	commit(marks: string[], counted: CountedFact[], ttlMs: number): Promise<void>;
}

export interface ComplianceStore {
	readonly kind: 'sqlite' | 'redis';
	/** A human description for error messages: the file path or host:port. */
	readonly location: string;
	/** HMAC-SHA256 of a number's canonical form, or of a BSUID, under the store's secret. */
	contactKey(identifier: string): string;

	readonly identities: ContactIdentities;
	readonly ledger: ConsentLedger;
	readonly facts: ContactFacts;
	readonly caps: FrequencyCapStore;
	readonly sends: SendLog;
	readonly campaigns: CampaignState;
	readonly limiter: SendLimiter;
	readonly dedupe: WebhookDedupe;

	/** Fails with a StoreUnavailableError naming the store unless it can serve now. */
	check(): Promise<void>;

	close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'StoreUnavailableError';
	}
}
