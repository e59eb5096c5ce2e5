/**
 * The domain's vocabulary: categories, consent, suppressions, cap decisions, send claims and pauses.
 * Every list of names here is the one definition both store backends (SQL and Lua) and every node use:
 * the Lua and SQL are built from these constants, never spelled out again.
 */

// ---- message categories ----

export const MESSAGE_CATEGORIES = ['marketing', 'utility', 'authentication'] as const;
export type MessageCategory = (typeof MESSAGE_CATEGORIES)[number];

export function isMessageCategory(value: unknown): value is MessageCategory {
	return (MESSAGE_CATEGORIES as readonly unknown[]).includes(value);
}

/** An opt-out may cover every category. */
export type ConsentScope = MessageCategory | 'all';

/** An `all` opt-out or suppression applies to every category. */
export function expandScope(scope: ConsentScope): MessageCategory[] {
	return scope === 'all' ? [...MESSAGE_CATEGORIES] : [scope];
}

// ---- consent ledger and suppressions ----

/**
 * `marketing_resumed`: the person turned marketing back on inside WhatsApp (`user_preferences` resume).
 * Kept in the ledger as a fact of their history, it decides nothing by itself: not consent, and it does
 * not hide the opt-out before it (only CONSENT_DECIDING_ACTIONS do; the Delivery Monitor's Resume
 * Restores Consent adds an opt-in beside it).
 */
export type ConsentAction = 'opt_in' | 'opt_out' | 'marketing_resumed';
/** The actions current consent is derived from; the others are history only. */
export const CONSENT_DECIDING_ACTIONS: readonly ConsentAction[] = ['opt_in', 'opt_out'];

export interface ConsentEventInput {
	contactKey: string;
	action: ConsentAction;
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

export const SUPPRESSION_REASONS = [
	'OPTED_OUT',
	'USER_STOPPED_MARKETING',
	'IMPORTED',
	'FORGOTTEN',
	/** The person moved to another number (Meta's `user_changed_number`): this one may be recycled to a stranger. */
	'NUMBER_CHANGED',
] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** The suppression an opt-out records. */
export const OPT_OUT_SUPPRESSION: SuppressionReason = 'OPTED_OUT';
/** The suppression Forget Contact leaves behind for every category. */
export const FORGOTTEN_SUPPRESSION: SuppressionReason = 'FORGOTTEN';
/** The suppression a number keeps when its owner moves to another number. */
export const NUMBER_CHANGED_SUPPRESSION: SuppressionReason = 'NUMBER_CHANGED';
/**
 * Suppressions a later opt-in lifts. A stop set inside WhatsApp (USER_STOPPED_MARKETING) is lifted only
 * by the person's own "resume" there. A number whose owner moved is released by a new opt-in given after
 * the move (its new owner's); a forgotten contact by a fresh, provable opt-in given after the erasure.
 */
export const LIFTED_BY_OPT_IN: readonly SuppressionReason[] = ['OPTED_OUT', 'IMPORTED', 'NUMBER_CHANGED', 'FORGOTTEN'];

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
	/** Meta asked for no marketing to this person before then (131049; META_HOLD_CATEGORIES). */
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

/**
 * A spend budget's view of one message (Frequency Cap's Spend Budget): its estimated cost and the
 * budgets it counts toward. Amounts are in COST_UNITS (core/pricing.ts): integer millionths of the rate
 * card's currency, so both stores add them exactly.
 */
export interface SpendRequest {
	/** This message's estimated cost, from the operator's rate card (as if delivered). */
	units: number;
	/** Start of the spend day this message counts toward (ms, the workflow's time zone), and of the next. */
	day: number;
	nextDay: number;
	/** The sending number's budget for that day. */
	perDay?: number;
	/** The campaign's budget, over every message reserved or sent for it (within the send log's retention). */
	perCampaign?: number;
	campaignId?: string;
}

export interface CapRequest {
	contactKey: string;
	category: MessageCategory;
	phoneNumberId: string;
	/** Per-contact rule for this category; undefined = no per-contact limit. */
	rule?: ContactRule;
	budgets?: SendingBudgets;
	spend?: SpendRequest;
	/** Unconfirmed reservations lapse after this long. */
	reservationTtlMs: number;
	/** Decide without reserving anything. */
	dryRun?: boolean;
}

/**
 * The categories Meta's per-user marketing limit (131049) holds: Meta asks for no more marketing to
 * that person for a while; utility and authentication messages still go.
 */
export const META_HOLD_CATEGORIES: readonly MessageCategory[] = ['marketing'];

/** Why a cap holds a message back, in the order decideCap checks them. */
export const CAP_DENIALS = {
	META_HOLD: 'META_HOLD',
	MIN_GAP: 'MIN_GAP',
	/**
	 * Held only by an unconfirmed reservation of a run still in progress (nothing sent yet): confirmed or
	 * released when that run sends, at the latest free when the reservation lapses (`nextAllowedAt`).
	 */
	RESERVED: 'RESERVED',
	CONTACT_CAP: 'CONTACT_CAP',
	HOURLY_BUDGET: 'HOURLY_BUDGET',
	DAILY_BUDGET: 'DAILY_BUDGET',
	UNIQUE_CONTACTS_LIMIT: 'UNIQUE_CONTACTS_LIMIT',
	/**
	 * The message's estimated cost would take the day's or the campaign's spend past its budget. For the
	 * day's budget `nextAllowedAt` is the next spend day; the campaign's never frees by waiting (null).
	 */
	SPEND_BUDGET: 'SPEND_BUDGET',
} as const;
export type CapDenial = keyof typeof CAP_DENIALS;

export type CapDecision =
	| { allowed: true; reservationId?: string }
	/** `nextAllowedAt` null: waiting frees nothing (a campaign's spend budget). */
	| { allowed: false; reason: CapDenial; nextAllowedAt: number | null };

// ---- send claims (never twice per campaign) ----

/**
 * A recipient's row in a campaign's send log: `sending` from right before its request until the
 * answer (in flight: it may have been accepted), `sent` once Meta accepted it, `in_doubt` when the
 * request reached Meta and no answer came (it may have been accepted; Meta has no idempotency key, so
 * it is never sent again on a guess: only its status webhook, which marks it sent, settles it).
 */
export const CLAIM_STATES = { sending: 'sending', sent: 'sent', in_doubt: 'in_doubt' } as const;

export type ClaimResult =
	/** This execution may send now; then it completes or releases the claim. */
	| { state: 'claimed' }
	/** Already sent in this campaign. */
	| { state: 'sent'; messageId?: string; at: number }
	/** A request for this recipient is (or was, when its sender died) on the wire: it may have been accepted. */
	| { state: 'in_flight'; at: number }
	/** A request reached Meta and got no answer: it may have been accepted; not sent again until settled. */
	| { state: 'in_doubt'; at: number };

/** A recipient that may not be sent now: already sent, or with a request in flight. */
export type SendState = Exclude<ClaimResult, { state: 'claimed' }>;

// ---- pauses ----

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

/** The id of the one global scope. */
export const GLOBAL_SCOPE_ID = '*';
