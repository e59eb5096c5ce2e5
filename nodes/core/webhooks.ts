/**
 * Meta's webhooks for the WhatsApp Business Account: signature check and the events inside an
 * envelope. One webhook URL per Meta app, so every field of the subscription arrives here.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { parseCallbackData } from './callbackData';

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
	status: 'sent' | 'delivered' | 'read' | 'played' | 'failed' | string;
	timestamp: number;
	recipientWaId: string;
	campaignId?: string;
	variant?: string;
	errors: Array<{ code: number; title?: string; message?: string; details?: string }>;
	pricing?: Record<string, unknown>;
	phoneNumberId?: string;
}

export interface InboundEvent {
	kind: 'inbound';
	messageId: string;
	from: string;
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
	raw: Record<string, unknown>;
}

export interface PreferenceEvent {
	kind: 'user_preference';
	waId: string;
	category: string;
	value: 'stop' | 'resume' | string;
	timestamp: number;
}

export interface AccountEvent {
	kind: 'template_status' | 'template_quality' | 'phone_quality' | 'account_update' | 'capability' | 'other';
	field: string;
	value: Record<string, unknown>;
}

export type WebhookEvent = StatusEvent | InboundEvent | PreferenceEvent | AccountEvent;

const seconds = (value: unknown) => (Number(value) > 0 ? Number(value) * 1000 : Date.now());

/** The events of an envelope, or undefined when the body is not a WhatsApp Business Account webhook. */
export function parseEnvelope(body: unknown): WebhookEvent[] | undefined {
	const envelope = body as { object?: unknown; entry?: unknown };
	if (
		!envelope ||
		typeof envelope !== 'object' ||
		envelope.object !== 'whatsapp_business_account' ||
		!Array.isArray(envelope.entry)
	)
		return undefined;
	const events: WebhookEvent[] = [];
	for (const entry of envelope.entry as Array<{ changes?: Array<{ field?: string; value?: Record<string, any> }> }>) {
		for (const change of entry?.changes ?? []) {
			const field = String(change?.field ?? '');
			const value = change?.value ?? {};
			if (field === 'messages') {
				const phoneNumberId = value.metadata?.phone_number_id as string | undefined;
				for (const status of (value.statuses ?? []) as Array<Record<string, any>>) {
					events.push({
						kind: 'status',
						messageId: String(status.id),
						status: String(status.status),
						timestamp: seconds(status.timestamp),
						recipientWaId: String(status.recipient_id ?? ''),
						...parseCallbackData(status.biz_opaque_callback_data),
						errors: ((status.errors ?? []) as Array<Record<string, any>>).map((e) => ({
							code: Number(e.code),
							title: e.title,
							message: e.message,
							details: e.error_data?.details,
						})),
						pricing: status.pricing,
						phoneNumberId,
					});
				}
				const names = new Map(
					((value.contacts ?? []) as Array<Record<string, any>>).map((c) => [
						String(c.wa_id),
						c.profile?.name as string | undefined,
					]),
				);
				for (const message of (value.messages ?? []) as Array<Record<string, any>>) {
					const type = String(message.type);
					events.push({
						kind: 'inbound',
						messageId: String(message.id),
						from: String(message.from ?? ''),
						timestamp: seconds(message.timestamp),
						type,
						text:
							type === 'text'
								? message.text?.body
								: type === 'interactive'
									? (message.interactive?.button_reply?.title ?? message.interactive?.list_reply?.title)
									: undefined,
						buttonPayload:
							type === 'button'
								? message.button?.payload
								: type === 'interactive'
									? (message.interactive?.button_reply?.id ?? message.interactive?.list_reply?.id)
									: undefined,
						buttonText: type === 'button' ? message.button?.text : undefined,
						replyTo: message.context?.id,
						changedTo:
							type === 'system' && message.system?.type === 'user_changed_number'
								? String(message.system.wa_id ?? message.system.new_wa_id ?? '') || undefined
								: undefined,
						profileName: names.get(String(message.from)),
						phoneNumberId,
						raw: message,
					});
				}
			} else if (field === 'user_preferences') {
				for (const preference of (value.user_preferences ?? []) as Array<Record<string, any>>) {
					events.push({
						kind: 'user_preference',
						waId: String(preference.wa_id ?? ''),
						category: String(preference.category),
						value: String(preference.value),
						timestamp: seconds(preference.timestamp),
					});
				}
			} else {
				const kinds: Record<string, AccountEvent['kind']> = {
					message_template_status_update: 'template_status',
					message_template_quality_update: 'template_quality',
					phone_number_quality_update: 'phone_quality',
					account_update: 'account_update',
					business_capability_update: 'capability',
				};
				events.push({ kind: kinds[field] ?? 'other', field, value });
			}
		}
	}
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
	inbound: (messageId: string) => `m:${messageId}`,
	/** Keyed by the contact's store key, never the plain wa_id (dedupe marks are kept at rest). */
	preference: (contactKey: string, value: string, timestamp: number) => `p:${contactKey}:${value}:${timestamp}`,
};
