/** A contact's current state, derived from the consent ledger and the facts the store keeps. */
import {
	CONSENT_DECIDING_ACTIONS,
	MESSAGE_CATEGORIES,
	type ConsentEvent,
	type ConsentScope,
	type ContactState,
	type Suppression,
} from './types';

const later = (a: ConsentEvent, b: ConsentEvent) => (a.at !== b.at ? a.at > b.at : a.id > b.id);

/**
 * Current consent is derived from the ledger: per category, the latest event that covers it (by the
 * time the person acted, then by the order recorded). Both backends hand their rows to this function.
 */
export function deriveContactState(
	events: readonly ConsentEvent[],
	suppressions: Suppression[],
	facts: { undeliverableAt?: number; holdUntil?: number; lastInteractionAt?: number },
): ContactState {
	const consent: ContactState['consent'] = {};
	for (const event of events) {
		if (!CONSENT_DECIDING_ACTIONS.includes(event.action)) continue;
		const covered: ConsentScope[] = event.category === 'all' ? ['all', ...MESSAGE_CATEGORIES] : [event.category];
		for (const scope of covered) {
			const current = consent[scope];
			if (!current || later(event, current)) consent[scope] = event;
		}
	}
	const state: ContactState = { consent, suppressions };
	if (facts.undeliverableAt) state.undeliverableAt = facts.undeliverableAt;
	if (facts.holdUntil) state.holdUntil = facts.holdUntil;
	if (facts.lastInteractionAt) state.lastInteractionAt = facts.lastInteractionAt;
	return state;
}
