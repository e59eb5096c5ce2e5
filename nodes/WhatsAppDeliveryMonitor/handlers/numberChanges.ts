/**
 * A person changed their number (Meta's `system` message `user_changed_number`). Their stops follow
 * them: the old number's suppressions and opt-outs are carried to the new one. The old number keeps
 * nothing of their consent, since Meta recycles numbers to strangers: it is suppressed as
 * NUMBER_CHANGED, which only a new opt-in given after the change lifts.
 */
import { NUMBER_CHANGED_SUPPRESSION, type ConsentEvent } from '../../core/types';
import type { DeliveryContext } from './context';

export async function carryOverNumberChange(
	{ store }: Pick<DeliveryContext, 'store'>,
	oldKey: string,
	newKey: string,
	at: number,
): Promise<{ carriedSuppressions: number; carriedOptOuts: number }> {
	const state = (await store.ledger.contactStates([oldKey])).get(oldKey)!;
	const suppressions = state.suppressions.filter((s) => s.reason !== NUMBER_CHANGED_SUPPRESSION);
	if (suppressions.length)
		await store.ledger.suppress(
			suppressions.map((s) => ({ contactKey: newKey, category: s.category, reason: s.reason, at: s.at })),
		);
	// The latest event per category, each once (an `all` opt-out is listed under every category).
	const optOuts = [...new Set(Object.values(state.consent))].filter((e): e is ConsentEvent => e?.action === 'opt_out');
	if (optOuts.length)
		await store.ledger.recordConsent(
			optOuts.map((e) => ({
				contactKey: newKey,
				action: 'opt_out' as const,
				categories: [e.category],
				at: e.at,
				source: 'whatsapp-number-change',
				collectedBy: 'WhatsApp Delivery Monitor',
			})),
		);
	await store.ledger.suppress([{ contactKey: oldKey, category: 'all', reason: NUMBER_CHANGED_SUPPRESSION, at }]);
	return { carriedSuppressions: suppressions.length, carriedOptOuts: optOuts.length };
}
