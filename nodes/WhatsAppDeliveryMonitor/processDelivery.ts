/**
 * What one verified webhook delivery changes in the store, and what it emits. Free of n8n so that the
 * trigger's handler stays a thin HTTP layer; one handler per kind of event (./handlers). Idempotent:
 * Meta retries deliveries for days and may send statuses out of order, so every status and message is
 * recorded once.
 */
import { CounterDeltas } from '../core/campaignCounters';
import type {
	AccountEvent,
	InboundEvent,
	InvalidUpdate,
	PreferenceEvent,
	StatusEvent,
	WebhookEvent,
} from '../core/webhooks';
import type { ComplianceStore } from '../store/types';
import { handleAccountEvents } from './handlers/accountEvents';
import { autoPause } from './handlers/autoPause';
import { DeliveryDedupe, type DeliveryContext, type EmittedItems, type MonitorOptions } from './handlers/context';
import { handleInbound } from './handlers/inbound';
import { handlePreferences } from './handlers/preferences';
import { handleStatuses } from './handlers/statuses';

export type { EmittedItems, MonitorOptions } from './handlers/context';

export async function processDelivery(
	store: ComplianceStore,
	events: WebhookEvent[],
	options: MonitorOptions,
): Promise<EmittedItems> {
	const context: DeliveryContext = {
		store,
		options,
		counters: new CounterDeltas(),
		out: { status: [], inbound: [], optOut: [], alert: [] },
		dedupe: new DeliveryDedupe(store),
	};
	// An update whose shape is not Meta's is reported, and the others are applied.
	for (const invalid of events.filter((e): e is InvalidUpdate => e.kind === 'invalid'))
		context.out.alert.push({
			kind: 'alert',
			alert: 'INVALID_UPDATE',
			field: invalid.field,
			path: invalid.path,
			reason: invalid.reason,
		});
	await handleStatuses(
		context,
		events.filter((e): e is StatusEvent => e.kind === 'status'),
	);
	await handleInbound(
		context,
		events.filter((e): e is InboundEvent => e.kind === 'inbound'),
	);
	await handlePreferences(
		context,
		events.filter((e): e is PreferenceEvent => e.kind === 'user_preference'),
	);
	await handleAccountEvents(
		context,
		events.filter(
			(e): e is AccountEvent =>
				e.kind !== 'status' && e.kind !== 'inbound' && e.kind !== 'user_preference' && e.kind !== 'invalid',
		),
	);

	// Only now, with every other effect written, are the facts marked as seen, and the counters they
	// justify written with their marks (once, however many deliveries race with the same fact).
	await context.dedupe.commit(context.counters);
	if (options.autoPause) {
		for (const campaignId of context.counters.campaigns()) {
			const alert = await autoPause(context, campaignId, options.autoPause);
			if (alert) context.out.alert.push(alert);
		}
	}
	return context.out;
}
