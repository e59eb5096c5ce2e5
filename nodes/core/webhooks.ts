/**
 * Meta's webhooks for the WhatsApp Business Account: signature check and the events inside an
 * envelope. One webhook URL per Meta app, so every field of the subscription arrives here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { parseCallbackData } from './callbackData';
import { isBsuid } from './contactIdentity';
import { DAY_MS } from './time';

/**
 * `X-Hub-Signature-256` is `sha256=` + HMAC-SHA256(app secret, raw body). Meta signs the bytes it
 * sends (non-ASCII escaped as \uXXXX), so the raw body must be hashed, never a re-serialised object.
 */
export function verifySignature(rawBody: Buffer, header: unknown, appSecret: string): boolean {
	if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
	const expected = Buffer.from(`sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`);
	const given = Buffer.from(header.trim());
	return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface StatusEvent {
	kind: 'status';
	messageId: string;
	status: MessageStatus;
	timestamp: number;
	/** The recipient's number as Meta gave it ('' when the message went to a BSUID). */
	recipientWaId: string;
	/** The recipient's BSUID and parent BSUID (`recipient_user_id`, `parent_recipient_user_id`, or the paired `contacts` entry). */
	recipientUserId?: string;
	recipientParentUserId?: string;
	campaignId?: string;
	variant?: string;
	/** The contact key the send was claimed under, from our callback tag (core/callbackData.ts). */
	sendKey?: string;
	errors: Array<{ code: number; title?: string; message?: string; details?: string }>;
	pricing?: Record<string, unknown>;
	phoneNumberId?: string;
}

export interface InboundEvent {
	kind: 'inbound';
	messageId: string;
	/** The sender's number ('' for a username user who withholds it). */
	from: string;
	/** The sender's BSUID (`from_user_id`) and parent BSUID (`from_parent_user_id`). */
	fromUserId?: string;
	fromParentUserId?: string;
	username?: string;
	timestamp: number;
	type: string;
	text?: string;
	buttonPayload?: string;
	buttonText?: string;
	replyTo?: string;
	profileName?: string;
	phoneNumberId?: string;
	/**
	 * A `system` message of type `user_changed_number`: the sender (`from`) moved to this wa_id
	 * (Meta's `system.wa_id`; older payloads name it `new_wa_id`).
	 */
	changedTo?: string;
	/**
	 * The BSUID and parent BSUID Meta gives the person after a number change or a `user_changed_user_id`
	 * (`system.user_id`, `system.parent_user_id`).
	 */
	changedToUserId?: string;
	changedToParentUserId?: string;
	/**
	 * Who the person was before the change (`system.previous_user_id`, `system.previous_parent_user_id`).
	 * Meta's system messages reference (changelog of Aug 11, 2026): a number change regenerates the BSUID,
	 * and a `user_changed_user_id` carries no phone number, often no `from` either; the previous BSUID is
	 * then the only way to find the person. Meta also corrected there that `user_id_update` is not a
	 * webhook field: BSUID changes arrive only as these system messages.
	 */
	previousUserId?: string;
	previousParentUserId?: string;
	raw: Record<string, unknown>;
}

export interface PreferenceEvent {
	kind: 'user_preference';
	waId: string;
	userId?: string;
	category: string;
	value: 'stop' | 'resume' | string;
	timestamp: number;
}

export interface AccountEvent {
	kind: 'template_status' | 'template_quality' | 'phone_quality' | 'account_update' | 'capability' | 'other';
	field: string;
	value: Record<string, unknown>;
}

/** An update whose shape is not Meta's: emitted on the Alert output with the reason, never applied. */
export interface InvalidUpdate {
	kind: 'invalid';
	field: string;
	/** Where in the envelope: `entry[0].changes[1].value.statuses[2]`. */
	path: string;
	reason: string;
}

export type WebhookEvent = StatusEvent | InboundEvent | PreferenceEvent | AccountEvent | InvalidUpdate;

/** The statuses Meta sends for a message; anything else is not counted (counter names are a closed set). */
export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'played', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Timestamps outside this window around now are not Meta's (Meta retries a delivery for up to 7 days). */
export const TIMESTAMP_WINDOW = { pastMs: 30 * DAY_MS, futureMs: DAY_MS };

/** Account-level values are kept to this depth in what is stored and emitted. */
const MAX_DETAIL_DEPTH = 8;

class ShapeError extends Error {}

const isObject = (value: unknown): value is Record<string, any> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

function list(value: unknown, what: string): unknown[] {
	if (value === undefined || value === null) return [];
	if (!Array.isArray(value)) throw new ShapeError(`${what} is not a list`);
	return value;
}

function text(value: unknown, what: string, required = true): string | undefined {
	if (value === undefined || value === null) {
		if (required) throw new ShapeError(`${what} is missing`);
		return undefined;
	}
	if (typeof value !== 'string') throw new ShapeError(`${what} is not a string`);
	return value;
}

/** A wa_id: digits (Meta sends a string; a number is accepted). Missing is allowed: then nobody is recorded. */
function waId(value: unknown, what: string): string {
	if (value === undefined || value === null || value === '') return '';
	if ((typeof value !== 'string' && typeof value !== 'number') || !/^\+?\d{6,20}$/.test(String(value)))
		throw new ShapeError(`${what} is not a WhatsApp ID`);
	return String(value);
}

/** A BSUID or parent BSUID, or undefined when absent; anything else present is not Meta's shape. */
function bsuid(value: unknown, what: string): string | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (!isBsuid(value)) throw new ShapeError(`${what} is not a business-scoped user ID`);
	return value;
}

/** Meta's timestamps are epoch seconds, as a string or a number, within the window around now. */
function timestamp(value: unknown, now: number, what: string): number {
	const seconds = typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : value;
	if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0)
		throw new ShapeError(`${what} is not a time in seconds`);
	const ms = seconds * 1000;
	if (ms < now - TIMESTAMP_WINDOW.pastMs || ms > now + TIMESTAMP_WINDOW.futureMs)
		throw new ShapeError(`${what} ${new Date(ms).toISOString()} is too far from now`);
	return ms;
}

/** A copy of a JSON value no deeper than `depth` (deeper parts become "[…]"): safe to store and emit. */
export function boundedCopy(value: unknown, depth = MAX_DETAIL_DEPTH): unknown {
	if (typeof value !== 'object' || value === null) return value;
	if (depth <= 0) return '[…]';
	if (Array.isArray(value)) return value.slice(0, 100).map((v) => boundedCopy(v, depth - 1));
	const copy: Record<string, unknown> = {};
	for (const [key, v] of Object.entries(value).slice(0, 100)) copy[key] = boundedCopy(v, depth - 1);
	return copy;
}

function parseStatus(
	status: unknown,
	contacts: MetaContact[],
	phoneNumberId: string | undefined,
	now: number,
): StatusEvent {
	if (!isObject(status)) throw new ShapeError('the status is not an object');
	const name = text(status.status, 'status')!;
	if (!(MESSAGE_STATUSES as readonly string[]).includes(name))
		throw new ShapeError(`status "${name.slice(0, 40)}" is not one Meta sends`);
	const recipientWaId = waId(status.recipient_id, 'recipient_id');
	const recipientUserId = bsuid(status.recipient_user_id, 'recipient_user_id');
	// Since 2026 a status carries the recipient's `contacts` entry (not a failed one): it pairs the
	// number with the BSUID when the message went to the number.
	const contact = contacts.find(
		(c) => (recipientWaId && c.waId === recipientWaId) || (recipientUserId && c.userId === recipientUserId),
	);
	return {
		kind: 'status',
		messageId: text(status.id, 'id')!,
		status: name as MessageStatus,
		timestamp: timestamp(status.timestamp, now, 'timestamp'),
		recipientWaId,
		recipientUserId: recipientUserId ?? contact?.userId,
		recipientParentUserId: bsuid(status.parent_recipient_user_id, 'parent_recipient_user_id') ?? contact?.parentUserId,
		...parseCallbackData(status.biz_opaque_callback_data),
		errors: list(status.errors, 'errors').map((e) => {
			if (!isObject(e)) throw new ShapeError('an error is not an object');
			const code = Number(e.code);
			if (!Number.isInteger(code) || code < 0) throw new ShapeError('an error code is not a number');
			return {
				code,
				title: text(e.title, 'error title', false),
				message: text(e.message, 'error message', false),
				details: isObject(e.error_data) ? text(e.error_data.details, 'error details', false) : undefined,
			};
		}),
		pricing: isObject(status.pricing) ? (boundedCopy(status.pricing) as Record<string, unknown>) : undefined,
		phoneNumberId,
	};
}

function parseMessage(
	message: unknown,
	contacts: MetaContact[],
	phoneNumberId: string | undefined,
	now: number,
): InboundEvent {
	if (!isObject(message)) throw new ShapeError('the message is not an object');
	const type = text(message.type, 'type')!;
	const part = (name: string) => (isObject(message[name]) ? (message[name] as Record<string, any>) : undefined);
	const interactive = part('interactive');
	const reply = isObject(interactive?.button_reply)
		? interactive.button_reply
		: isObject(interactive?.list_reply)
			? interactive.list_reply
			: undefined;
	const system = part('system');
	const identityChange =
		type === 'system' && (system?.type === 'user_changed_number' || system?.type === 'user_changed_user_id');
	const from = waId(message.from, 'from');
	const fromUserId = bsuid(message.from_user_id, 'from_user_id');
	const contact = contacts.find((c) => (from && c.waId === from) || (fromUserId && c.userId === fromUserId));
	return {
		kind: 'inbound',
		messageId: text(message.id, 'id')!,
		from,
		fromUserId: fromUserId ?? contact?.userId,
		fromParentUserId: bsuid(message.from_parent_user_id, 'from_parent_user_id') ?? contact?.parentUserId,
		username: contact?.username,
		timestamp: timestamp(message.timestamp, now, 'timestamp'),
		type,
		text:
			type === 'text'
				? text(part('text')?.body, 'text.body')
				: type === 'interactive'
					? text(reply?.title, 'interactive reply title', false)
					: undefined,
		buttonPayload:
			type === 'button'
				? text(part('button')?.payload, 'button.payload', false)
				: type === 'interactive'
					? text(reply?.id, 'interactive reply id', false)
					: undefined,
		buttonText: type === 'button' ? text(part('button')?.text, 'button.text', false) : undefined,
		replyTo: isObject(message.context) ? text(message.context.id, 'context.id', false) : undefined,
		changedTo:
			type === 'system' && system?.type === 'user_changed_number'
				? waId(system.wa_id ?? system.new_wa_id, 'system.wa_id') || undefined
				: undefined,
		...(identityChange ? identityChangeIds(system!) : {}),
		profileName: contact?.profileName,
		phoneNumberId,
		raw: boundedCopy(message) as Record<string, unknown>,
	};
}

/** The identifiers a `user_changed_number` or `user_changed_user_id` names, before and after. */
function identityChangeIds(system: Record<string, any>) {
	return {
		changedToUserId: bsuid(system.user_id, 'system.user_id'),
		changedToParentUserId: bsuid(system.parent_user_id, 'system.parent_user_id'),
		previousUserId: bsuid(system.previous_user_id, 'system.previous_user_id'),
		previousParentUserId: bsuid(system.previous_parent_user_id, 'system.previous_parent_user_id'),
	};
}

function parsePreference(preference: unknown, now: number): PreferenceEvent {
	if (!isObject(preference)) throw new ShapeError('the preference is not an object');
	return {
		kind: 'user_preference',
		waId: waId(preference.wa_id, 'wa_id'),
		userId: bsuid(preference.user_id, 'user_id'),
		category: text(preference.category, 'category')!,
		value: text(preference.value, 'value')!,
		timestamp: timestamp(preference.timestamp, now, 'timestamp'),
	};
}

/** One entry of a change's `contacts`: who Meta says the statuses and messages concern. */
interface MetaContact {
	waId?: string;
	userId?: string;
	parentUserId?: string;
	username?: string;
	profileName?: string;
}

/** The usable entries of `contacts`; an entry that is not Meta's shape is skipped (it only pairs identifiers). */
function metaContacts(value: unknown): MetaContact[] {
	const out: MetaContact[] = [];
	for (const contact of Array.isArray(value) ? value : []) {
		if (!isObject(contact)) continue;
		const profile = isObject(contact.profile) ? contact.profile : {};
		out.push({
			waId: typeof contact.wa_id === 'string' && /^\+?\d{6,20}$/.test(contact.wa_id) ? contact.wa_id : undefined,
			userId: isBsuid(contact.user_id) ? contact.user_id : undefined,
			parentUserId: isBsuid(contact.parent_user_id) ? contact.parent_user_id : undefined,
			username: typeof profile.username === 'string' ? profile.username.slice(0, 100) : undefined,
			profileName: typeof profile.name === 'string' ? profile.name : undefined,
		});
	}
	return out;
}

const ACCOUNT_KINDS: Record<string, AccountEvent['kind']> = {
	message_template_status_update: 'template_status',
	message_template_quality_update: 'template_quality',
	phone_number_quality_update: 'phone_quality',
	account_update: 'account_update',
	business_capability_update: 'capability',
};

/**
 * The updates of an envelope, each on its own: one whose shape is not Meta's becomes an InvalidUpdate
 * (emitted with its reason) and the others are applied. Undefined when the body is not a WhatsApp
 * Business Account webhook at all.
 */
export function parseEnvelope(body: unknown, now = Date.now()): WebhookEvent[] | undefined {
	if (!isObject(body) || body.object !== 'whatsapp_business_account' || !Array.isArray(body.entry)) return undefined;
	const events: WebhookEvent[] = [];
	const each = (field: string, path: string, parse: () => WebhookEvent) => {
		try {
			events.push(parse());
		} catch (error) {
			if (!(error instanceof ShapeError)) throw error;
			events.push({ kind: 'invalid', field, path, reason: error.message });
		}
	};
	body.entry.forEach((entry: unknown, e: number) => {
		const changes = isObject(entry) && Array.isArray(entry.changes) ? entry.changes : undefined;
		if (!changes)
			return each('', `entry[${e}]`, () => {
				throw new ShapeError('the entry has no list of changes');
			});
		changes.forEach((change: unknown, c: number) => {
			const at = `entry[${e}].changes[${c}]`;
			const field = isObject(change) && typeof change.field === 'string' ? change.field : '';
			const value = isObject(change) ? change.value : undefined;
			if (!isObject(value))
				return each(field, at, () => {
					throw new ShapeError('the change has no value object');
				});
			if (field === 'messages') {
				const phoneNumberId =
					isObject(value.metadata) && typeof value.metadata.phone_number_id === 'string'
						? value.metadata.phone_number_id
						: undefined;
				const contacts = metaContacts(value.contacts);
				for (const [name, parse] of [
					['statuses', (item: unknown) => parseStatus(item, contacts, phoneNumberId, now)],
					['messages', (item: unknown) => parseMessage(item, contacts, phoneNumberId, now)],
				] as const) {
					if (value[name] !== undefined && !Array.isArray(value[name])) {
						each(field, `${at}.value.${name}`, () => {
							throw new ShapeError(`${name} is not a list`);
						});
						continue;
					}
					((value[name] ?? []) as unknown[]).forEach((item, i) =>
						each(field, `${at}.value.${name}[${i}]`, () => parse(item)),
					);
				}
			} else if (field === 'user_preferences') {
				if (value.user_preferences !== undefined && !Array.isArray(value.user_preferences))
					return each(field, `${at}.value.user_preferences`, () => {
						throw new ShapeError('user_preferences is not a list');
					});
				((value.user_preferences ?? []) as unknown[]).forEach((item, i) =>
					each(field, `${at}.value.user_preferences[${i}]`, () => parsePreference(item, now)),
				);
			} else {
				events.push({
					kind: Object.hasOwn(ACCOUNT_KINDS, field) ? ACCOUNT_KINDS[field] : 'other',
					field,
					value: boundedCopy(value) as Record<string, unknown>,
				});
			}
		});
	});
	return events;
}

/** Meta's delivery failures that need the contact's state changed (same table as Template Send). */
export function isFinalStatus(status: string): boolean {
	return status === 'delivered' || status === 'read' || status === 'played' || status === 'failed';
}

/**
 * Dedupe keys of the Delivery Monitor: Meta retries deliveries for days and repeats statuses, so each
 * fact is applied once, under one of these keys (marked in the store's webhook dedupe).
 */
export const dedupeKeys = {
	/** One status of one message. */
	status: (messageId: string, status: string) => `s:${messageId}:${status}`,
	/** "delivered" once per message, whether it arrives as delivered, read or played. */
	delivery: (messageId: string) => `d:${messageId}`,
	/**
	 * The message was counted as failed, and with which code: undone if a delivery follows. A message
	 * has one final state, whatever order its statuses arrive in: delivered once any delivered, read or
	 * played status says it reached a device, else failed. Meta does not guarantee the order of status
	 * webhooks, and "delivered events may happen after failed, and vice versa, especially when the end
	 * user is using multiple devices" (YCloud's documentation of Meta's message statuses).
	 */
	failure: (messageId: string) => `f:${messageId}`,
	failureCode: (messageId: string, code: number) => `f:${messageId}:${code}`,
	inbound: (messageId: string) => `m:${messageId}`,
	/** Keyed by the contact's store key, never the plain wa_id (dedupe marks are kept at rest). */
	preference: (contactKey: string, value: string, timestamp: number) => `p:${contactKey}:${value}:${timestamp}`,
};
