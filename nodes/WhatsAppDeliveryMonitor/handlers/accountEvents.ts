/** Account-level events: template and quality changes pause sending, everything else is an alert. */
import { GLOBAL_SCOPE_ID } from '../../core/types';
import type { AccountEvent } from '../../core/webhooks';
import type { DeliveryContext } from './context';

/** `account_update` and `phone_number_quality_update` events that stop all sending. */
const RESTRICTING_ACCOUNT_EVENTS = ['ACCOUNT_RESTRICTION', 'ACCOUNT_VIOLATION', 'DISABLED_UPDATE', 'ACCOUNT_DELETED'];
const RESTRICTING_QUALITY_EVENTS = ['FLAGGED', 'DOWNGRADE'];

export async function handleAccountEvents({ store, options, out }: DeliveryContext, events: AccountEvent[]) {
	for (const event of events) out.alert.push(...(await accountAlert(store, event, options.now)));
}

async function accountAlert(
	store: DeliveryContext['store'],
	event: AccountEvent,
	now: number,
): Promise<Array<Record<string, unknown>>> {
	const value = event.value;
	const name = String(value.event ?? '');
	if (event.kind === 'template_status') {
		const id = `${String(value.message_template_name)}:${String(value.message_template_language)}`;
		if (name === 'PAUSED' || name === 'DISABLED') {
			await store.campaigns.setPause({
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
			await store.campaigns.setPause({ scope: 'template', id, paused: false, reason: `TEMPLATE_${name}`, at: now });
		}
		return [{ kind: 'alert', alert: `TEMPLATE_${name}`, template: id, detail: value }];
	}
	const restricts =
		(event.kind === 'phone_quality' && RESTRICTING_QUALITY_EVENTS.includes(name)) ||
		(event.kind === 'account_update' && RESTRICTING_ACCOUNT_EVENTS.includes(name));
	if (restricts) {
		await store.campaigns.setPause({
			scope: 'global',
			id: GLOBAL_SCOPE_ID,
			paused: true,
			reason: `${event.field}:${name}`,
			at: now,
			details: value,
		});
		return [
			{
				kind: 'alert',
				alert: name,
				field: event.field,
				paused: { scope: 'global', id: GLOBAL_SCOPE_ID },
				detail: value,
			},
		];
	}
	return [{ kind: 'alert', alert: name || event.field, field: event.field, detail: value }];
}
