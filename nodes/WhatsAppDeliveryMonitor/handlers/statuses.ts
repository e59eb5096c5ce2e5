/** Message statuses: the send log, the campaign's counters and the contact's facts. */
import { classifyMetaError, META_ERROR_RULES } from '../../core/metaErrors';
import { destinationCountry, readPricing } from '../../core/pricing';
import { dedupeKeys, isFinalStatus, type StatusEvent } from '../../core/webhooks';
import { iso, personKey, personLabel, type DeliveryContext } from './context';

export async function handleStatuses(context: DeliveryContext, statuses: StatusEvent[]): Promise<void> {
	const { store, counters, out, dedupe } = context;
	if (!statuses.length) return;
	// Every mark this batch may ask about, in one read: each (message, status), each message's delivery
	// and counted failure.
	await dedupe.prefetch(
		statuses.flatMap((s) => [
			dedupeKeys.status(s.messageId, s.status),
			dedupeKeys.delivery(s.messageId),
			dedupeKeys.failure(s.messageId),
		]),
	);
	// Each (message, status) once.
	const fresh = await dedupe.isNew(statuses.map((s) => dedupeKeys.status(s.messageId, s.status)));
	for (const [index, status] of statuses.entries()) {
		if (!fresh[index]) continue;
		const recipient = {
			waId: status.recipientWaId,
			userId: status.recipientUserId,
			parentUserId: status.recipientParentUserId,
		};
		// Who the status is about: the recipient Meta names, else the person our tag says it was sent to.
		// When Meta names them by a wa_id that keys apart from the tag's person, the link Template Send
		// learned from Meta's answer says whose it is.
		const named = await personKey({ store }, recipient, status.timestamp);
		const contactKey =
			named && status.sendKey && named !== status.sendKey && recipient.waId
				? (await store.identities.resolve([named]))[0]
				: (named ?? status.sendKey);
		const by = { variant: status.variant, at: status.timestamp };
		// The facts the counters below hang on: counted once each, whatever races (WebhookDedupe.commit).
		const statusFact = dedupeKeys.status(status.messageId, status.status);
		const deliveryFact = dedupeKeys.delivery(status.messageId);
		const failureFact = dedupeKeys.failure(status.messageId);
		// Counted for the campaign, written against nobody.
		if (!contactKey) counters.add(status.campaignId, 'unattributed', {}, statusFact);
		// Meta accepted this message: whatever the sender recorded (it may have died before it could, or
		// its request got no answer: in doubt), the campaign must never send it again. The tag names the
		// exact claim; without one (older tags) the recipient's key does.
		const claimKey = status.sendKey ?? contactKey;
		if (status.campaignId && claimKey)
			await store.sends.completeSend(status.campaignId, claimKey, status.messageId, status.timestamp);
		let countedAs: 'delivered' | 'failed' | undefined;
		if (status.status === 'delivered' || status.status === 'read' || status.status === 'played') {
			// A late "delivered" after "read" changes nothing: the message counts as delivered once.
			const [firstDelivery] = await dedupe.isNew([deliveryFact]);
			if (firstDelivery) {
				counters.add(status.campaignId, 'delivered', by, deliveryFact);
				// Meta bills a message once it is delivered, by its pricing category and the recipient's
				// country: counted here, once per message (core/pricing.ts).
				const pricing = status.campaignId ? readPricing(status.pricing) : undefined;
				if (pricing)
					counters.addPricing(
						status.campaignId,
						pricing,
						destinationCountry(status.recipientWaId, status.recipientUserId),
						deliveryFact,
					);
				const [failedBefore] = await dedupe.has([failureFact]);
				if (failedBefore) await undoFailure(context, status, contactKey, deliveryFact);
			}
			if (status.status !== 'delivered') counters.add(status.campaignId, status.status, by, statusFact);
			if (status.status === 'read' && contactKey) await store.facts.recordInteraction(contactKey, status.timestamp);
		} else if (status.status === 'failed') {
			// One final state per message: once it reached a device, a failure does not count
			// (core/webhooks.ts, dedupeKeys.failure), nor mark the person unreachable.
			const [delivered] = await dedupe.has([deliveryFact]);
			countedAs = delivered ? 'delivered' : 'failed';
			if (!delivered) {
				await dedupe.isNew([
					failureFact,
					...status.errors.map((e) => dedupeKeys.failureCode(status.messageId, e.code)),
				]);
				counters.add(status.campaignId, 'deliveryFailed', by, failureFact);
			}
			for (const error of status.errors) {
				if (!delivered) counters.addKeyed(status.campaignId, 'deliveryFailed', error.code, failureFact);
				if (contactKey) await applyDeliveryFailure(contactKey, error.code, status.timestamp, { store }, { delivered });
			}
		} else {
			counters.add(
				status.campaignId,
				status.status === 'sent' ? 'statusSent' : status.status,
				{ variant: status.variant },
				statusFact,
			);
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
			...(contactKey ? {} : { recorded: false, reason: 'NO_IDENTIFIER' }),
			...(countedAs === 'delivered' ? { countedAs } : {}),
		});
	}
}

/**
 * What Meta's error table says a delivery failure changes about the contact (131050, 131026, 131049).
 * The person's own choice (131050) and Meta's hold (131049) stand even if another device got the
 * message; "not reachable" (131026) does not.
 */
async function applyDeliveryFailure(
	contactKey: string,
	code: number,
	at: number,
	{ store }: Pick<DeliveryContext, 'store'>,
	{ delivered }: { delivered: boolean },
): Promise<void> {
	const rule = classifyMetaError(code);
	if (rule.suppressMarketing)
		await store.ledger.suppress([{ contactKey, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at }]);
	if (rule.undeliverable && !delivered) await store.facts.markUndeliverable(contactKey, at);
	if (rule.holdRecipientMs) await store.facts.holdContact(contactKey, at + rule.holdRecipientMs);
}

/**
 * A delivery after a counted failure of the same message: the message was delivered after all. Its
 * failure is taken back from the counters (total, variant, code) and an unreachable mark it set is
 * cleared.
 */
async function undoFailure(
	{ store, counters, dedupe }: DeliveryContext,
	status: StatusEvent,
	contactKey: string | undefined,
	deliveryFact: string,
): Promise<void> {
	const known = [...META_ERROR_RULES.keys()];
	const seen = await dedupe.has(known.map((code) => dedupeKeys.failureCode(status.messageId, code)));
	const codes = known.filter((_, i) => seen[i]);
	counters.undo(status.campaignId, 'deliveryFailed', { variant: status.variant }, codes, deliveryFact);
	if (contactKey && codes.some((code) => classifyMetaError(code).undeliverable))
		await store.facts.clearUndeliverable(contactKey, status.timestamp);
}
