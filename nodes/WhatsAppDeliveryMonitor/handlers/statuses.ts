/** Message statuses: the send log, the campaign's counters and the contact's facts. */
import { classifyMetaError } from '../../core/metaErrors';
import { dedupeKeys, isFinalStatus, type StatusEvent } from '../../core/webhooks';
import { iso, personKey, personLabel, type DeliveryContext } from './context';

export async function handleStatuses(
	{ store, counters, out, dedupe }: DeliveryContext,
	statuses: StatusEvent[],
): Promise<void> {
	if (!statuses.length) return;
	// Each (message, status) once.
	const fresh = await dedupe.isNew(statuses.map((s) => dedupeKeys.status(s.messageId, s.status)));
	for (const [index, status] of statuses.entries()) {
		if (!fresh[index]) continue;
		const recipient = {
			waId: status.recipientWaId,
			userId: status.recipientUserId,
			parentUserId: status.recipientParentUserId,
		};
		const contactKey = await personKey({ store }, recipient, status.timestamp);
		const by = { variant: status.variant, at: status.timestamp };
		// Meta accepted this message: whatever the sender recorded (it may have died before it could),
		// the campaign must never send it again.
		if (status.campaignId && contactKey)
			await store.sends.completeSend(status.campaignId, contactKey, status.messageId, status.timestamp);
		if (status.status === 'delivered' || status.status === 'read' || status.status === 'played') {
			// A late "delivered" after "read" changes nothing: the message counts as delivered once.
			const [firstDelivery] = await dedupe.isNew([dedupeKeys.delivery(status.messageId)]);
			if (firstDelivery) counters.add(status.campaignId, 'delivered', by);
			if (status.status !== 'delivered') counters.add(status.campaignId, status.status, by);
			if (status.status === 'read' && contactKey) await store.facts.recordInteraction(contactKey, status.timestamp);
		} else if (status.status === 'failed') {
			counters.add(status.campaignId, 'deliveryFailed', by);
			for (const error of status.errors) {
				counters.addKeyed(status.campaignId, 'deliveryFailed', error.code);
				if (contactKey) await applyDeliveryFailure(contactKey, error.code, status.timestamp, { store });
			}
		} else {
			counters.add(status.campaignId, status.status === 'sent' ? 'statusSent' : status.status, {
				variant: status.variant,
			});
		}
		out.status.push({
			kind: 'status',
			messageId: status.messageId,
			status: status.status,
			at: iso(status.timestamp),
			recipient: personLabel(recipient),
			recipientUserId: status.recipientUserId ?? null,
			campaignId: status.campaignId ?? null,
			variant: status.variant ?? null,
			errors: status.errors.map((e) => ({ ...e, meaning: classifyMetaError(e.code).meaning })),
			final: isFinalStatus(status.status),
		});
	}
}

/** What Meta's error table says a delivery failure changes about the contact (131050, 131026, 131049). */
async function applyDeliveryFailure(
	contactKey: string,
	code: number,
	at: number,
	{ store }: Pick<DeliveryContext, 'store'>,
): Promise<void> {
	const rule = classifyMetaError(code);
	if (rule.suppressMarketing)
		await store.ledger.suppress([{ contactKey, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at }]);
	if (rule.undeliverable) await store.facts.markUndeliverable(contactKey, at);
	if (rule.holdRecipientMs) await store.facts.holdContact(contactKey, at + rule.holdRecipientMs);
}
