/**
 * Inbound messages: an interaction, an opt-out or resubscribe keyword, an opt-out quick reply, a tap on
 * a marketing opt-out button, or plain inbound.
 */
import type { PersonIdentifiers } from '../../core/contactIdentity';
import { matchesKeyword, namesOptOutKeyword } from '../../core/keywords';
import { MESSAGE_CATEGORIES, type ConsentScope } from '../../core/types';
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
		const sender = senderOf(message);
		const contactKey = await personKey(context, sender, message.timestamp, { resolveNumber: true });
		if (contactKey) await store.facts.recordInteraction(contactKey, message.timestamp);
		// A new number comes with a new BSUID (Meta: "If a user changes a phone number, a new BSUID is
		// generated"): the new number's contact gets the new BSUIDs, and the person's stops.
		const newKey = message.changedTo
			? await personKey(
					context,
					{ waId: message.changedTo, userId: message.changedToUserId, parentUserId: message.changedToParentUserId },
					message.timestamp,
					{ resolveNumber: true },
				)
			: undefined;
		const carried =
			contactKey && newKey ? await carryOverNumberChange(context, contactKey, newKey, message.timestamp) : undefined;
		// `user_changed_user_id`: the same person under new BSUIDs, which now lead to everything recorded
		// for them (a STOP from the new BSUID blocks the number the old one was paired with).
		if (!message.changedTo && contactKey)
			for (const alias of [message.changedToUserId, message.changedToParentUserId])
				if (alias) await store.identities.link(store.contactKey(alias), contactKey, message.timestamp);
		const keywordOut =
			matchesKeyword(message.text, options.optOutKeywords) ||
			matchesKeyword(message.buttonText, options.optOutKeywords);
		const payloadOut = message.buttonPayload !== undefined && options.optOutPayloads.includes(message.buttonPayload);
		// A quick reply whose label names an opt-out word ("Stop promotions", the marketing opt-out button
		// of Meta's template editor) arrives as a \`button\` message with the template's own payload: it
		// stops marketing whatever that payload is.
		const marketingButtonOut = message.type === 'button' && namesOptOutKeyword(message.buttonText);
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
		// An opt-out keyword or payload stops everything; a marketing opt-out button, marketing.
		const optOut: { categories: ConsentScope[]; source: string } | undefined =
			keywordOut || payloadOut
				? { categories: ['all'], source: payloadOut ? 'whatsapp-button' : 'whatsapp-keyword' }
				: marketingButtonOut
					? { categories: ['marketing'], source: 'whatsapp-marketing-optout-button' }
					: undefined;
		if (optOut) {
			if (contactKey)
				await store.ledger.recordConsent([
					{
						contactKey,
						action: 'opt_out',
						categories: optOut.categories,
						at: message.timestamp,
						source: optOut.source,
						...(marketingButtonOut && !keywordOut && !payloadOut ? { wording: message.buttonText } : {}),
						collectedBy: COLLECTED_BY,
					},
				]);
			const last = contactKey ? await store.sends.lastSend(contactKey) : undefined;
			counters.add(last?.campaignId, 'optOut', { at: message.timestamp }, dedupeKeys.inbound(message.messageId));
			out.optOut.push({
				kind: 'opt_out',
				action: 'opt_out',
				categories: optOut.categories,
				source: optOut.source,
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
				kind: message.changedTo ? 'number_change' : isUserIdChange(message) ? 'user_id_change' : 'inbound',
				...(message.changedTo ? { changedTo: e164(message.changedTo), consentCarriedOver: carried ?? null } : {}),
				...(isUserIdChange(message) ? { changedToUserId: message.changedToUserId ?? null } : {}),
				type: message.type,
				text: message.text ?? null,
				buttonPayload: message.buttonPayload ?? null,
				message: message.raw,
				...base,
			});
		}
	}
}

const isUserIdChange = (message: InboundEvent) => !message.changedTo && message.changedToUserId !== undefined;

/**
 * Who sent the message. For a change of identifiers that is who the person was before it: the old
 * number (`from`) and the previous BSUIDs. Some payloads put the new BSUID in `from_user_id`; with no
 * previous identifier at all, the new ones name the person (the change followed their first message).
 */
function senderOf(message: InboundEvent): PersonIdentifiers {
	if (message.changedToUserId === undefined && message.changedTo === undefined)
		return { waId: message.from, userId: message.fromUserId, parentUserId: message.fromParentUserId };
	const notNew = (id: string | undefined) =>
		id !== undefined && id !== message.changedToUserId && id !== message.changedToParentUserId ? id : undefined;
	const before: PersonIdentifiers = {
		waId: message.from,
		userId: message.previousUserId ?? notNew(message.fromUserId),
		parentUserId: message.previousParentUserId ?? notNew(message.fromParentUserId),
	};
	if (before.waId || before.userId || before.parentUserId || message.changedTo) return before;
	return { waId: '', userId: message.changedToUserId, parentUserId: message.changedToParentUserId };
}
