/**
 * What an account-level webhook means for sending: pause everything, lift a pause it set earlier, or
 * only tell the operator. Meta's `account_update` events (shapes as in pywa's test data,
 * tests/data/updates/account_update.json, and Meta's account_update reference) and
 * `phone_number_quality_update` events.
 */

export type AccountAction =
	| { action: 'pause'; reason: string }
	/** Lifts the global pause only when one of these reasons set it (a pause set by hand stays). */
	| { action: 'lift'; lifts: string[] }
	| { action: 'alert' };

const reasonOf = (field: string, event: string) => `${field}:${event}`;

/** Restrictions that stop business-initiated messages; others (adding numbers) only alert. */
const SENDING_RESTRICTIONS = ['RESTRICTED_BIZ_INITIATED_MESSAGING', 'RESTRICTED_CUSTOMER_INITIATED_MESSAGING'];

export function accountAction(field: string, value: Record<string, unknown>): AccountAction {
	const event = String(value.event ?? '');
	if (field === 'phone_number_quality_update')
		return ['FLAGGED', 'DOWNGRADE'].includes(event)
			? { action: 'pause', reason: reasonOf(field, event) }
			: { action: 'alert' };
	if (field !== 'account_update') return { action: 'alert' };
	switch (event) {
		case 'ACCOUNT_DELETED':
		case 'ACCOUNT_VIOLATION':
		case 'ACCOUNT_OFFBOARDED':
			return { action: 'pause', reason: reasonOf(field, event) };
		case 'ACCOUNT_RESTRICTION': {
			const restrictions = Array.isArray(value.restriction_info) ? value.restriction_info : [];
			// Without the list, assume the worst: a restriction may stop sending.
			const stopsSending =
				restrictions.length === 0 ||
				restrictions.some(
					(r) =>
						typeof r === 'object' &&
						r !== null &&
						SENDING_RESTRICTIONS.includes(String((r as Record<string, unknown>).restriction_type)),
				);
			return stopsSending ? { action: 'pause', reason: reasonOf(field, event) } : { action: 'alert' };
		}
		case 'DISABLED_UPDATE': {
			const ban = value.ban_info as Record<string, unknown> | undefined;
			// REINSTATE: the account is back. DISABLE and SCHEDULE_FOR_DISABLE (or no state): stop.
			if (String(ban?.waba_ban_state ?? '') === 'REINSTATE') return { action: 'lift', lifts: [reasonOf(field, event)] };
			return { action: 'pause', reason: reasonOf(field, event) };
		}
		case 'ACCOUNT_RECONNECTED':
			return { action: 'lift', lifts: [reasonOf(field, 'ACCOUNT_OFFBOARDED')] };
		default:
			return { action: 'alert' };
	}
}
