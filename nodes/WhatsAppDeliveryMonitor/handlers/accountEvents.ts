/** Account-level events: template and quality changes pause sending, everything else is an alert. */
import { accountAction } from '../../core/accountEvents';
import { GLOBAL_SCOPE_ID } from '../../core/types';
import type { AccountEvent } from '../../core/webhooks';
import type { DeliveryContext } from './context';

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
	const decision = accountAction(event.field, value);
	if (decision.action === 'pause') {
		await store.campaigns.setPause({
			scope: 'global',
			id: GLOBAL_SCOPE_ID,
			paused: true,
			reason: decision.reason,
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
	if (decision.action === 'lift') {
		const current = await store.campaigns.activePause([{ scope: 'global', id: GLOBAL_SCOPE_ID }]);
		const lifted = current !== undefined && decision.lifts.includes(current.reason ?? '');
		if (lifted)
			await store.campaigns.setPause({
				scope: 'global',
				id: GLOBAL_SCOPE_ID,
				paused: false,
				reason: `${event.field}:${name}`,
				at: now,
			});
		return [
			{
				kind: 'alert',
				alert: name,
				field: event.field,
				resumed: lifted ? { scope: 'global', id: GLOBAL_SCOPE_ID } : null,
				detail: value,
			},
		];
	}
	return [{ kind: 'alert', alert: name || event.field, field: event.field, detail: value }];
}
