/**
 * The compliance store: the state the Consent Gate, Frequency Cap, Template Send and Delivery Monitor
 * share across workflows, executions and (with Redis) n8n workers. Two backends implement it with the
 * same behaviour: embedded SQLite (node:sqlite, default) and Redis (queue mode).
 *
 * Contacts are identified by `contactKey`: HMAC-SHA256 of the E.164 number under a secret kept in the
 * store. No plain phone number is ever written.
 */

export type MessageCategory = 'marketing' | 'utility' | 'authentication';
export const MESSAGE_CATEGORIES: readonly MessageCategory[] = ['marketing', 'utility', 'authentication'];

/** An opt-out may cover every category. */
export type ConsentScope = MessageCategory | 'all';

export interface ConsentEventInput {
	contactKey: string;
	action: 'opt_in' | 'opt_out';
	categories: ConsentScope[];
	/** When the person gave or withdrew consent (ms since epoch). */
	at: number;
	/** Channel: web-form, sms, ivr, paper, whatsapp-keyword, crm… */
	source?: string;
	/** The wording shown to the person when they opted in. */
	wording?: string;
	/** The business the opt-in named. */
	businessName?: string;
	/** Who or what recorded it (user, workflow, webhook). */
	collectedBy?: string;
}

export interface ConsentEvent extends Omit<ConsentEventInput, 'categories'> {
	id: number;
	category: ConsentScope;
	/** When the store recorded it. */
	recordedAt: number;
}

export type SuppressionReason = 'OPTED_OUT' | 'USER_STOPPED_MARKETING' | 'IMPORTED' | 'FORGOTTEN';

export interface Suppression {
	category: ConsentScope;
	reason: SuppressionReason;
	at: number;
}

/** Everything the store knows about one contact that bears on whether to message them. */
export interface ContactState {
	/** Latest consent event per category (an `all` opt-out is listed under `all`). */
	consent: Partial<Record<ConsentScope, ConsentEvent>>;
	suppressions: Suppression[];
	/** Last 131026 failure (not on WhatsApp). */
	undeliverableAt?: number;
	/** Meta asked not to message this contact before then (131049). */
	holdUntil?: number;
	lastInteractionAt?: number;
}

// ---- frequency caps ----

export interface ContactRule {
	/** At most this many messages in `windowMs` (0 = no count limit). */
	maxCount: number;
	windowMs: number;
	/** At least this long between two messages (0 = none). */
	minGapMs: number;
}

export interface SendingBudgets {
	/** Unique contacts per rolling 24 h for the phone number (Meta's messaging limit tier). */
	uniqueContactsPer24h?: number;
	messagesPerHour?: number;
	messagesPerDay?: number;
}

export interface CapRequest {
	contactKey: string;
	category: MessageCategory;
	phoneNumberId: string;
	/** Per-contact rule for this category; undefined = no per-contact limit. */
	rule?: ContactRule;
	budgets?: SendingBudgets;
	/** Unconfirmed reservations lapse after this long. */
	reservationTtlMs: number;
	/** Decide without reserving anything. */
	dryRun?: boolean;
}

export type CapDenial =
	'CONTACT_CAP' | 'MIN_GAP' | 'DAILY_BUDGET' | 'HOURLY_BUDGET' | 'UNIQUE_CONTACTS_LIMIT' | 'META_HOLD';

export type CapDecision =
	{ allowed: true; reservationId?: string } | { allowed: false; reason: CapDenial; nextAllowedAt: number };

// ---- campaigns ----

export type ClaimResult =
	/**
	 * This execution may send. Claimed as `claimed`, it must call startSend right before the request;
	 * claimed as `sending`, it sends now. Then it completes or releases the claim.
	 */
	| { state: 'claimed' }
	/** Already sent in this campaign. */
	| { state: 'sent'; messageId?: string; at: number }
	/** A request for this recipient is (or was, when its sender died) on the wire: it may have been accepted. */
	| { state: 'in_flight'; at: number };

/** A recipient that may not be sent now: already sent, or with a request in flight. */
export type SendState = Exclude<ClaimResult, { state: 'claimed' }>;

/** A template scope (`name:language`) is paused when Meta pauses or disables that template. */
export type PauseScope = 'campaign' | 'phone' | 'global' | 'template';

export interface PauseState {
	scope: PauseScope;
	id: string;
	paused: boolean;
	reason?: string;
	at: number;
	details?: Record<string, unknown>;
}

export interface ComplianceStore {
	readonly kind: 'sqlite' | 'redis';
	/** A human description for error messages: the file path or host:port. */
	readonly location: string;

	/** HMAC-SHA256 of an E.164 number under the store's secret. */
	contactKey(e164: string): string;

	// consent ledger (append-only) and suppression
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
	/** Erases the contact's ledger and interaction data, keeping a suppression marker for every category. */
	forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }>;
	markUndeliverable(contactKey: string, at: number): Promise<void>;
	holdContact(contactKey: string, until: number): Promise<void>;
	recordInteraction(contactKey: string, at: number): Promise<void>;
	/** One call for a whole batch of contacts. */
	contactStates(contactKeys: string[]): Promise<Map<string, ContactState>>;

	// frequency caps: atomic check-and-reserve, batched
	reserve(requests: CapRequest[], now: number): Promise<CapDecision[]>;
	/** The message went out: the reservation becomes a send at `at`. */
	confirmReservation(reservationId: string, at: number): Promise<boolean>;
	/** The message will not go out (permanent failure): the slot is freed. */
	releaseReservation(reservationId: string): Promise<boolean>;

	// idempotency per campaign
	/**
	 * Claims a recipient for `owner` (one execution). A claim that never reached the wire (`claimed`,
	 * whoever holds it) is taken over: its old owner's startSend then fails, so it cannot send.
	 * With `as: 'sending'` the claim is made right before the request and goes straight to `sending`
	 * (one write instead of claim + startSend).
	 */
	claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
		as?: 'claimed' | 'sending',
	): Promise<ClaimResult>;
	/**
	 * Read-only, for many recipients at once: those already sent in the campaign, and those with a
	 * request in flight (`sending`, not expired at `now`). Recipients not in the map are free.
	 */
	sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>>;
	/**
	 * Right before the request: moves the owner's claim to `sending` (in flight until `claimTtlMs`).
	 * False when the claim was taken over or is gone: do not send.
	 */
	startSend(campaignId: string, contactKey: string, owner: string, now: number, claimTtlMs: number): Promise<boolean>;
	completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void>;
	/** The contact's most recent send in any campaign (to attribute a STOP reply to its campaign). */
	lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined>;
	/** Drops the owner's claim (not sent: the recipient may be sent later). */
	releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void>;

	// campaign state
	incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void>;
	counters(campaignId: string): Promise<Record<string, number>>;
	setPause(state: PauseState): Promise<void>;
	/** The first paused state among the given scopes, or undefined when none is paused. */
	activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined>;
	pauses(): Promise<PauseState[]>;

	/**
	 * Throughput limiter per phone number (GCRA), shared by every execution using the store: takes
	 * `count` slots at `ratePerSecond` and returns, for each, how long to wait before sending.
	 */
	acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots>;

	/** Webhook dedupe: true for keys not seen within `ttlMs` (now marked seen), false for repeats. */
	markSeen(keys: string[], ttlMs: number): Promise<boolean[]>;

	close(): Promise<void>;
}

export interface SendSlots {
	/** The limiter's clock when it granted the slots (Redis' clock with the Redis store). */
	now: number;
	/** For each slot, milliseconds to wait from `now`. */
	waits: number[];
}

export class StoreUnavailableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'StoreUnavailableError';
	}
}
