/**
 * Meta's Cloud API error codes and what a sender must do about each.
 *
 * Meta keys behaviour on the numeric `code` (plus `error_data.details`), not on the HTTP status,
 * subcode or title, so this table is keyed on `code` alone. Every node that reacts to an error
 * (Template Send's retries, the Delivery Monitor's suppressions) reads it from here.
 */
import { HOUR_MS } from './time';

/** What the sender does about an error. */
export type ErrorClass =
	/** Transient or throughput: back off with jitter and try again. */
	| 'RETRY'
	/** Pair-rate limit: this recipient only, later (Meta: wait 4^n seconds). */
	| 'RETRY_RECIPIENT_LATER'
	/** Wrong for this item (number, parameters, recipient state): do not retry it. */
	| 'PERMANENT'
	/** This campaign or template cannot go on (spam limit, template paused, template missing). */
	| 'STOP_CAMPAIGN'
	/** Credentials, permissions or the account itself: nothing should be sent until fixed. */
	| 'STOP_ALL';

export interface MetaErrorRule {
	errorClass: ErrorClass;
	/** Meta's meaning, in an operator's words. */
	meaning: string;
	/** Upper bound on attempts for retryable codes whose Meta advice is "limited retries". */
	maxRetries?: number;
	/** A fixed wait Meta prescribes before the next attempt. */
	retryAfterMs?: number;
	/** How long this recipient must not be messaged again (131049: retrying extends the block). */
	holdRecipientMs?: number;
	/** The recipient should be remembered as unreachable on WhatsApp. */
	undeliverable?: boolean;
	/** Marketing to this recipient must be suppressed (they stopped it inside WhatsApp). */
	suppressMarketing?: boolean;
}

function rule(errorClass: ErrorClass, meaning: string, extra: Partial<MetaErrorRule> = {}): MetaErrorRule {
	return { errorClass, meaning, ...extra };
}

const rules = new Map<number, MetaErrorRule>();
function define(codes: number[], value: MetaErrorRule) {
	for (const code of codes) rules.set(code, value);
}

define([0, 190], rule('STOP_ALL', 'Authentication failed or the access token expired'));
define([3, 10, 131005], rule('STOP_ALL', 'The app lacks the permission for this call'));
define([368, 131031], rule('STOP_ALL', 'The account is blocked or locked for a policy violation'));
define([131042], rule('STOP_ALL', 'Payment problem on the WhatsApp Business Account'));
define([133010], rule('STOP_ALL', 'The sending phone number is not registered'));

define([4, 80007], rule('RETRY', 'App or WhatsApp Business Account call-rate limit reached'));
define([130429], rule('RETRY', 'Throughput limit of the phone number reached'));
define([1], rule('RETRY', 'Invalid request or possible server error', { maxRetries: 1 }));
define([2, 131016, 133004], rule('RETRY', 'Service temporarily unavailable'));
define([131000], rule('RETRY', 'Unknown error on Meta’s side', { maxRetries: 3 }));
define([131057], rule('RETRY', 'Phone number in maintenance (throughput upgrade)', { retryAfterMs: 60_000 }));

define([131056], rule('RETRY_RECIPIENT_LATER', 'Too many messages to the same recipient in a short time'));

define([131048], rule('STOP_CAMPAIGN', 'Spam rate limit: too many recipients blocked or reported the messages'));
define([132001], rule('STOP_CAMPAIGN', 'Template does not exist in that language or is not approved'));
define([132015], rule('STOP_CAMPAIGN', 'Template is paused for low quality'));
define([132016], rule('STOP_CAMPAIGN', 'Template is disabled for low quality'));

define([100], rule('PERMANENT', 'Invalid parameter'));
define([131008], rule('PERMANENT', 'A required parameter is missing'));
define([131009], rule('PERMANENT', 'A parameter value is not valid'));
define([131021], rule('PERMANENT', 'Sender and recipient are the same number'));
define([131051], rule('PERMANENT', 'Unsupported message type'));
define([132000], rule('PERMANENT', 'Number of template parameters does not match the template'));
define([132005], rule('PERMANENT', 'Translated template text is too long'));
define([132007], rule('PERMANENT', 'Template content violates a WhatsApp policy'));
define([132012], rule('PERMANENT', 'Template parameter has the wrong format'));
define([132018], rule('PERMANENT', 'Template parameter contains a newline, a tab or more than 4 consecutive spaces'));
define([135000], rule('PERMANENT', 'Generic user error in the request'));
define([131053], rule('PERMANENT', 'Media could not be uploaded or downloaded'));
define([130497], rule('PERMANENT', 'The business may not message recipients in this country'));
define([131030], rule('PERMANENT', 'Recipient is not in the test number’s allowed list'));
define([131047], rule('PERMANENT', 'More than 24 hours since the recipient last wrote: send a template'));
define([130472], rule('PERMANENT', 'Recipient is in a Meta experiment group'));
define([131026], rule('PERMANENT', 'Message undeliverable: the number is not on WhatsApp or cannot receive it', {
	undeliverable: true,
}));
define([131049], rule('PERMANENT', 'Meta limited marketing to this recipient (healthy ecosystem)', {
	holdRecipientMs: 24 * HOUR_MS,
}));
define([131050], rule('PERMANENT', 'Recipient stopped marketing messages from this business', {
	suppressMarketing: true,
}));

/** Meta documents 200–299 as one permission range. */
const PERMISSION_RANGE = rule('STOP_ALL', 'The app lacks the permission for this call');
const UNKNOWN_CODE = rule('RETRY', 'Unrecognised error code', { maxRetries: 1 });
const SERVER_ERROR = rule('RETRY', 'Server error without a Meta error code');
const NO_RESPONSE = rule('RETRY', 'No response received (timeout or connection failure)');

/**
 * The rule for a Meta error code. Codes this table does not know are retried once: a new
 * permanent code costs one extra call, a new transient code is not dropped on the first try.
 */
export function classifyMetaError(code: number | undefined, httpStatus?: number): MetaErrorRule {
	if (code === undefined || Number.isNaN(code)) {
		if (httpStatus === undefined) return NO_RESPONSE;
		if (httpStatus >= 500) return SERVER_ERROR;
		if (httpStatus === 401) return rules.get(190)!;
		if (httpStatus === 429) return rules.get(4)!;
		return rule('PERMANENT', `HTTP ${httpStatus} without a Meta error code`);
	}
	const known = rules.get(code);
	if (known) return known;
	if (code >= 200 && code <= 299) return PERMISSION_RANGE;
	return UNKNOWN_CODE;
}

/** The table itself: every code it names, with its rule. */
export const META_ERROR_RULES: ReadonlyMap<number, MetaErrorRule> = rules;

/** True when the class ends the run for every remaining item. */
export function stopsSending(errorClass: ErrorClass): boolean {
	return errorClass === 'STOP_CAMPAIGN' || errorClass === 'STOP_ALL';
}
