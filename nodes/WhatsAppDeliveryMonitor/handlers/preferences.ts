/**
 * Marketing preferences set inside WhatsApp (`user_preferences`). Meta documents two values, `stop` and
 * `resume` (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
 * user_preferences): a stop is an opt-out of marketing; a resume is recorded in the ledger
 * (`marketing_resumed`, history only) and restores consent only when configured. Any other value is
 * emitted as it came, recorded as nothing: never read as a resume.
 */
import { dedupeKeys, type PreferenceEvent } from '../../core/webhooks';
import { iso, personKey, personLabel, type DeliveryContext } from './context';

const COLLECTED_BY = 'WhatsApp Delivery Monitor';

export async function handlePreferences(context: DeliveryContext, preferences: PreferenceEvent[]) {
	const { store, options, out, dedupe } = context;
	for (const preference of preferences) {
		if (!preference.category.startsWith('marketing')) continue;
		const person = { waId: preference.waId, userId: preference.userId };
		const known = preference.value === 'stop' || preference.value === 'resume';
		const kind = preference.value === 'stop' ? 'opt_out' : preference.value === 'resume' ? 'resume' : 'preference';
		const contactKey = await personKey(context, person, preference.timestamp, { resolveNumber: true });
		if (!contactKey) {
			// No usable identifier: emitted, never recorded against a made-up contact.
			out.optOut.push({
				kind,
				value: preference.value,
				source: 'whatsapp-preferences',
				from: null,
				recorded: false,
				reason: 'NO_IDENTIFIER',
				at: iso(preference.timestamp),
			});
			continue;
		}
		if (!known) {
			out.optOut.push({
				kind,
				value: preference.value,
				categories: ['marketing'],
				source: 'whatsapp-preferences',
				recorded: false,
				reason: 'UNKNOWN_PREFERENCE',
				from: personLabel(person),
				at: iso(preference.timestamp),
			});
			continue;
		}
		const [isNew] = await dedupe.isNew([dedupeKeys.preference(contactKey, preference.value, preference.timestamp)]);
		if (!isNew) continue;
		const event = {
			contactKey,
			categories: ['marketing' as const],
			at: preference.timestamp,
			source: 'whatsapp-preferences',
			collectedBy: COLLECTED_BY,
		};
		if (preference.value === 'stop') {
			// Ledger first, then the suppression: its reason (lifted only by "resume") must be the one kept.
			await store.ledger.recordConsent([{ ...event, action: 'opt_out' }]);
			await store.ledger.suppress([
				{ contactKey, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: preference.timestamp },
			]);
		} else {
			// Recorded whatever the setting: the person's own act, shown in their consent history.
			await store.ledger.recordConsent([{ ...event, action: 'marketing_resumed' }]);
			if (options.resumeRestoresConsent) {
				await store.ledger.liftSuppressions([
					{ contactKey, category: 'marketing', reasons: ['USER_STOPPED_MARKETING'] },
				]);
				await store.ledger.recordConsent([{ ...event, action: 'opt_in' }]);
			}
		}
		out.optOut.push({
			kind,
			action: preference.value === 'stop' ? 'opt_out' : 'marketing_resumed',
			categories: ['marketing'],
			source: 'whatsapp-preferences',
			consentRestored: preference.value === 'resume' ? options.resumeRestoresConsent : undefined,
			from: personLabel(person),
			at: iso(preference.timestamp),
		});
	}
}
