/** Inbound messages: an interaction, an opt-out or resubscribe keyword, an opt-out quick reply, or plain inbound. */
import { matchesKeyword } from '../../core/keywords';
import { MESSAGE_CATEGORIES } from '../../core/types';
import { dedupeKeys, type InboundEvent } from '../../core/webhooks';
import { e164, iso, personKey, personLabel, type DeliveryContext } from './context';
import { carryOverNumberChange } from './numberChanges';

const COLLECTED_BY = 'WhatsApp Delivery Monitor';

export async function handleInbound(context: DeliveryContext, messages: InboundEvent[]): Promise<void> {
	if (!messages.length) return;
	const { store, options, counters, out, dedupe } = context;
	const fresh = await dedupe.isNew(messages.map((m) => dedupeKeys.inbound(m.messageId)));
	for (const [index, message] of messages.entries()) {
		if (!fresh[index]) continue;
		const sender = { waId: message.from, userId: message.fromUserId, parentUserId: message.fromParentUserId };
		const contactKey = await personKey(context, sender, message.timestamp);
		if (contactKey) await store.facts.recordInteraction(contactKey, message.timestamp);
		// A new number comes with a new BSUID (Meta: "If a user changes a phone number, a new BSUID is
		// generated"); `user_changed_user_id` gives a new BSUID for the same person.
		const newKey = message.changedTo
			? await personKey(context, { waId: message.changedTo, userId: message.changedToUserId }, message.timestamp)
			: undefined;
		const carried =
			contactKey && newKey ? await carryOverNumberChange(context, contactKey, newKey, message.timestamp) : undefined;
		if (!message.changedTo && message.changedToUserId && contactKey)
			await store.identities.link(store.contactKey(message.changedToUserId), contactKey, message.timestamp);
		const keywordOut =
			matchesKeyword(message.text, options.optOutKeywords) ||
			matchesKeyword(message.buttonText, options.optOutKeywords);
		const payloadOut = message.buttonPayload !== undefined && options.optOutPayloads.includes(message.buttonPayload);
		const base = {
			from: contactKey ? personLabel(sender) : null,
			userId: message.fromUserId ?? null,
			username: message.username ?? null,
			// No usable sender: emitted, but nothing is recorded against a made-up contact.
			...(contactKey ? {} : { recorded: false, reason: 'NO_IDENTIFIER' }),
			messageId: message.messageId,
			at: iso(message.timestamp),
			profileName: message.profileName ?? null,
			replyTo: message.replyTo ?? null,
		};
		if (keywordOut || payloadOut) {
			const source = payloadOut ? 'whatsapp-button' : 'whatsapp-keyword';
			if (contactKey)
				await store.ledger.recordConsent([
					{
						contactKey,
						action: 'opt_out',
						categories: ['all'],
						at: message.timestamp,
						source,
						collectedBy: COLLECTED_BY,
					},
				]);
			const last = contactKey ? await store.sends.lastSend(contactKey) : undefined;
			counters.add(last?.campaignId, 'optOut', { at: message.timestamp });
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
			const categories = [...MESSAGE_CATEGORIES];
			if (contactKey)
				await store.ledger.recordConsent([
					{
						contactKey,
						action: 'opt_in',
						categories,
						at: message.timestamp,
						source: 'whatsapp-keyword',
						wording: message.text,
						collectedBy: COLLECTED_BY,
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
				kind: message.changedTo ? 'number_change' : 'inbound',
				...(message.changedTo ? { changedTo: e164(message.changedTo), consentCarriedOver: carried ?? null } : {}),
				type: message.type,
				text: message.text ?? null,
				buttonPayload: message.buttonPayload ?? null,
				message: message.raw,
				...base,
			});
		}
	}
}
