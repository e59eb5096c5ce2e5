/**
 * What one verified webhook delivery changes in the store, and what it emits. Free of n8n so that the
 * trigger's handler stays a thin HTTP layer. Idempotent: Meta retries deliveries for days and may send
 * statuses out of order, so every status and message is recorded once.
 */
import { classifyMetaError } from '../core/metaErrors';
import {
	isFinalStatus,
	matchesKeyword,
	type AccountEvent,
	type InboundEvent,
	type StatusEvent,
	type WebhookEvent,
} from '../core/webhooks';
import type { ComplianceStore, MessageCategory, PauseState } from '../store/types';

const DAY_MS = 86_400_000;
/** Meta retries failed webhook deliveries for up to 7 days. */
const DEDUPE_TTL_MS = 8 * DAY_MS;

export interface MonitorOptions {
	optOutKeywords: readonly string[];
	resubscribeKeywords: readonly string[];
	optOutPayloads: readonly string[];
	/** A "resume" in WhatsApp's marketing preferences restores consent (off: only recorded). */
	resumeRestoresConsent: boolean;
	autoPause: { minimumFinal: number; minDeliveryRate: number; maxOptOutRate: number } | undefined;
	now: number;
}

export interface EmittedItems {
	status: Array<Record<string, unknown>>;
	inbound: Array<Record<string, unknown>>;
	optOut: Array<Record<string, unknown>>;
	alert: Array<Record<string, unknown>>;
}

const iso = (ms: number) => new Date(ms).toISOString();
export const hourOf = (ms: number) => new Date(ms).toISOString().slice(0, 13);
const e164 = (waId: string) => `+${waId.replace(/\D/g, '')}`;

export async function processDelivery(
	store: ComplianceStore,
	events: WebhookEvent[],
	options: MonitorOptions,
): Promise<EmittedItems> {
	const out: EmittedItems = { status: [], inbound: [], optOut: [], alert: [] };
	const counters = new Map<string, Record<string, number>>();
	const count = (campaignId: string | undefined, name: string, variant?: string, at?: number) => {
		if (!campaignId) return;
		const deltas = counters.get(campaignId) ?? {};
		const add = (key: string) => (deltas[key] = (deltas[key] ?? 0) + 1);
		add(name);
		if (variant) add(`variant:${variant}:${name}`);
		// Hourly buckets (UTC) for the report's timeline.
		if (at !== undefined) add(`hour:${hourOf(at)}:${name}`);
		counters.set(campaignId, deltas);
	};

	// ---- statuses: each (message, status) once; "delivered" once per message, implied by read ----
	const statuses = events.filter((e): e is StatusEvent => e.kind === 'status');
	const fresh = statuses.length
		? await store.markSeen(
				statuses.map((s) => `s:${s.messageId}:${s.status}`),
				DEDUPE_TTL_MS,
			)
		: [];
	for (const [index, status] of statuses.entries()) {
		if (!fresh[index]) continue;
		const contactKey = status.recipientWaId ? store.contactKey(e164(status.recipientWaId)) : undefined;
		// Meta accepted this message: whatever the sender recorded (it may have died before it could),
		// the campaign must never send it again.
		if (status.campaignId && contactKey)
			await store.completeSend(status.campaignId, contactKey, status.messageId, status.timestamp);
		if (status.status === 'delivered' || status.status === 'read' || status.status === 'played') {
			// A late "delivered" after "read" changes nothing: the message counts as delivered once.
			const [firstDelivery] = await store.markSeen([`d:${status.messageId}`], DEDUPE_TTL_MS);
			if (firstDelivery) count(status.campaignId, 'delivered', status.variant, status.timestamp);
			if (status.status !== 'delivered') count(status.campaignId, status.status, status.variant, status.timestamp);
			if (status.status === 'read' && contactKey) await store.recordInteraction(contactKey, status.timestamp);
		} else if (status.status === 'failed') {
			// "deliveryFailed", not "failed": Template Send counts the sends Meta refused outright as failed.
			count(status.campaignId, 'deliveryFailed', status.variant, status.timestamp);
			for (const error of status.errors) {
				count(status.campaignId, `deliveryFailed:${error.code}`);
				if (!contactKey) continue;
				const rule = classifyMetaError(error.code);
				if (rule.suppressMarketing)
					await store.suppress([
						{ contactKey, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: status.timestamp },
					]);
				if (rule.undeliverable) await store.markUndeliverable(contactKey, status.timestamp);
				if (rule.holdRecipientMs) await store.holdContact(contactKey, status.timestamp + rule.holdRecipientMs);
			}
		} else {
			// "statusSent": Template Send's own "sent" counts what Meta accepted.
			count(status.campaignId, status.status === 'sent' ? 'statusSent' : status.status, status.variant);
		}
		out.status.push({
			kind: 'status',
			messageId: status.messageId,
			status: status.status,
			at: iso(status.timestamp),
			recipient: e164(status.recipientWaId),
			campaignId: status.campaignId ?? null,
			variant: status.variant ?? null,
			errors: status.errors.map((e) => ({ ...e, meaning: classifyMetaError(e.code).meaning })),
			final: isFinalStatus(status.status),
		});
	}

	// ---- inbound messages: interaction, opt-out and resubscribe keywords, quick replies ----
	const inbound = events.filter((e): e is InboundEvent => e.kind === 'inbound');
	const freshInbound = inbound.length
		? await store.markSeen(
				inbound.map((m) => `m:${m.messageId}`),
				DEDUPE_TTL_MS,
			)
		: [];
	for (const [index, message] of inbound.entries()) {
		if (!freshInbound[index]) continue;
		const number = e164(message.from);
		const contactKey = store.contactKey(number);
		await store.recordInteraction(contactKey, message.timestamp);
		const keywordOut =
			matchesKeyword(message.text, options.optOutKeywords) ||
			matchesKeyword(message.buttonText, options.optOutKeywords);
		const payloadOut = message.buttonPayload !== undefined && options.optOutPayloads.includes(message.buttonPayload);
		const base = {
			from: number,
			messageId: message.messageId,
			at: iso(message.timestamp),
			profileName: message.profileName ?? null,
			replyTo: message.replyTo ?? null,
		};
		if (keywordOut || payloadOut) {
			const source = payloadOut ? 'whatsapp-button' : 'whatsapp-keyword';
			await store.recordConsent([
				{
					contactKey,
					action: 'opt_out',
					categories: ['all'],
					at: message.timestamp,
					source,
					collectedBy: 'WhatsApp Delivery Monitor',
				},
			]);
			const last = await store.lastSend(contactKey);
			count(last?.campaignId, 'optOut', undefined, message.timestamp);
			out.optOut.push({
				kind: 'opt_out',
				action: 'opt_out',
				categories: ['all'],
				source,
				text: message.text ?? message.buttonText ?? null,
				payload: message.buttonPayload ?? null,
				campaignId: last?.campaignId ?? null,
				...base,
			});
		} else if (matchesKeyword(message.text, options.resubscribeKeywords)) {
			const categories: MessageCategory[] = ['marketing', 'utility', 'authentication'];
			await store.recordConsent([
				{
					contactKey,
					action: 'opt_in',
					categories,
					at: message.timestamp,
					source: 'whatsapp-keyword',
					wording: message.text,
					collectedBy: 'WhatsApp Delivery Monitor',
				},
			]);
			out.optOut.push({
				kind: 'opt_in',
				action: 'opt_in',
				categories,
				source: 'whatsapp-keyword',
				text: message.text ?? null,
				...base,
			});
		} else {
			out.inbound.push({
				kind: 'inbound',
				type: message.type,
				text: message.text ?? null,
				buttonPayload: message.buttonPayload ?? null,
				message: message.raw,
				...base,
			});
		}
	}

	// ---- marketing preferences set inside WhatsApp ----
	for (const preference of events.filter((e) => e.kind === 'user_preference')) {
		if (preference.kind !== 'user_preference' || !preference.category.startsWith('marketing')) continue;
		const [isNew] = await store.markSeen(
			[`p:${preference.waId}:${preference.value}:${preference.timestamp}`],
			DEDUPE_TTL_MS,
		);
		if (!isNew) continue;
		const contactKey = store.contactKey(e164(preference.waId));
		if (preference.value === 'stop') {
			// Ledger first, then the suppression: its reason (lifted only by "resume") must be the one kept.
			await store.recordConsent([
				{
					contactKey,
					action: 'opt_out',
					categories: ['marketing'],
					at: preference.timestamp,
					source: 'whatsapp-preferences',
					collectedBy: 'WhatsApp Delivery Monitor',
				},
			]);
			await store.suppress([
				{ contactKey, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: preference.timestamp },
			]);
		} else if (preference.value === 'resume' && options.resumeRestoresConsent) {
			await store.liftSuppressions([{ contactKey, category: 'marketing', reasons: ['USER_STOPPED_MARKETING'] }]);
			await store.recordConsent([
				{
					contactKey,
					action: 'opt_in',
					categories: ['marketing'],
					at: preference.timestamp,
					source: 'whatsapp-preferences',
					collectedBy: 'WhatsApp Delivery Monitor',
				},
			]);
		}
		out.optOut.push({
			kind: preference.value === 'stop' ? 'opt_out' : 'resume',
			action: preference.value === 'stop' ? 'opt_out' : preference.value,
			categories: ['marketing'],
			source: 'whatsapp-preferences',
			consentRestored: preference.value === 'resume' ? options.resumeRestoresConsent : undefined,
			from: e164(preference.waId),
			at: iso(preference.timestamp),
		});
	}

	// ---- account events: template and quality changes pause sending ----
	for (const event of events.filter(
		(e): e is AccountEvent => e.kind !== 'status' && e.kind !== 'inbound' && e.kind !== 'user_preference',
	)) {
		out.alert.push(...(await accountAlert(store, event, options.now)));
	}

	for (const [campaignId, deltas] of counters) await store.incrementCounters(campaignId, deltas);
	if (options.autoPause) {
		for (const campaignId of counters.keys()) {
			const alert = await autoPause(store, campaignId, options.autoPause, options.now);
			if (alert) out.alert.push(alert);
		}
	}
	return out;
}

async function accountAlert(
	store: ComplianceStore,
	event: AccountEvent,
	now: number,
): Promise<Array<Record<string, unknown>>> {
	const value = event.value;
	const name = String(value.event ?? '');
	if (event.kind === 'template_status') {
		const id = `${String(value.message_template_name)}:${String(value.message_template_language)}`;
		if (name === 'PAUSED' || name === 'DISABLED') {
			await store.setPause({
				scope: 'template',
				id,
				paused: true,
				reason: `TEMPLATE_${name}`,
				at: now,
				details: { reason: value.reason ?? null },
			});
			return [
				{ kind: 'alert', alert: `TEMPLATE_${name}`, paused: { scope: 'template', id }, template: id, detail: value },
			];
		}
		if (name === 'REINSTATED' || name === 'APPROVED') {
			await store.setPause({ scope: 'template', id, paused: false, reason: `TEMPLATE_${name}`, at: now });
		}
		return [{ kind: 'alert', alert: `TEMPLATE_${name}`, template: id, detail: value }];
	}
	const restricts =
		(event.kind === 'phone_quality' && ['FLAGGED', 'DOWNGRADE'].includes(name)) ||
		(event.kind === 'account_update' &&
			['ACCOUNT_RESTRICTION', 'ACCOUNT_VIOLATION', 'DISABLED_UPDATE', 'ACCOUNT_DELETED'].includes(name));
	if (restricts) {
		await store.setPause({
			scope: 'global',
			id: '*',
			paused: true,
			reason: `${event.field}:${name}`,
			at: now,
			details: value,
		});
		return [{ kind: 'alert', alert: name, field: event.field, paused: { scope: 'global', id: '*' }, detail: value }];
	}
	return [{ kind: 'alert', alert: name || event.field, field: event.field, detail: value }];
}

/** Pauses a campaign whose delivery rate fell, or whose opt-out rate rose, past the thresholds. */
async function autoPause(
	store: ComplianceStore,
	campaignId: string,
	rules: NonNullable<MonitorOptions['autoPause']>,
	now: number,
) {
	// Cheapest first, on every status batch: a campaign short of the minimum in all its history is
	// short of it since any resume too.
	const allTime = await store.counters(campaignId);
	if ((allTime.delivered ?? 0) + (allTime.deliveryFailed ?? 0) < rules.minimumFinal) return undefined;
	if (await store.activePause([{ scope: 'campaign', id: campaignId }])) return undefined;
	const counters = sinceResume(allTime, await store.pauses(), campaignId);
	const delivered = counters.delivered ?? 0;
	const failed = counters.deliveryFailed ?? 0;
	const finals = delivered + failed;
	if (finals < rules.minimumFinal) return undefined;
	const deliveryRate = delivered / finals;
	const optOutRate = (counters.optOut ?? 0) / Math.max(counters.sent ?? 0, finals);
	const reason =
		deliveryRate < rules.minDeliveryRate
			? 'DELIVERY_RATE'
			: optOutRate > rules.maxOptOutRate
				? 'OPT_OUT_RATE'
				: undefined;
	if (!reason) return undefined;
	const details = {
		deliveryRate: Math.round(deliveryRate * 1000) / 1000,
		optOutRate: Math.round(optOutRate * 1000) / 1000,
		delivered,
		failed,
		optOuts: counters.optOut ?? 0,
	};
	await store.setPause({ scope: 'campaign', id: campaignId, paused: true, reason, at: now, details });
	return {
		kind: 'alert',
		alert: `CAMPAIGN_PAUSED_${reason}`,
		campaignId,
		paused: { scope: 'campaign', id: campaignId },
		...details,
	};
}

/**
 * The campaign's counters since an operator last resumed it (Campaign Control records the counters
 * at that moment); all of them when it was never resumed.
 */
function sinceResume(counters: Record<string, number>, pauses: PauseState[], campaignId: string) {
	const resumed = pauses.find((p) => p.scope === 'campaign' && p.id === campaignId && !p.paused);
	const baseline = (resumed?.details?.countersAtResume ?? {}) as Record<string, number>;
	const result: Record<string, number> = {};
	for (const [name, value] of Object.entries(counters)) result[name] = value - (baseline[name] ?? 0);
	return result;
}
