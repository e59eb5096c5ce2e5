/**
 * processDelivery against a real embedded store: dedupe marks are written after the effects they
 * guard, so a store failure in the middle of a delivery loses nothing when Meta retries the same bytes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseEnvelope } from '../../nodes/core/webhooks';
import { SqliteStore } from '../../nodes/store/SqliteStore';
import { StoreUnavailableError, type ComplianceStore } from '../../nodes/store/types';
import { processDelivery } from '../../nodes/WhatsAppDeliveryMonitor/processDelivery';

const options = {
	optOutKeywords: ['STOP'],
	resubscribeKeywords: ['START'],
	optOutPayloads: [],
	resumeRestoresConsent: false,
	autoPause: undefined,
	now: Date.now(),
};

describe('processDelivery: a store failure mid-delivery, then Meta’s retry', () => {
	let store: SqliteStore;
	beforeAll(() => {
		store = SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'wac-process-')), 'store.sqlite'));
	});
	afterAll(() => store.close());

	test('the STOP and the failure’s counters are applied by the retry, once', async () => {
		const ts = String(Math.floor(Date.now() / 1000));
		const body = {
			object: 'whatsapp_business_account',
			entry: [
				{
					id: '1',
					changes: [
						{
							field: 'messages',
							value: {
								statuses: [
									{
										id: 'wamid.f1',
										status: 'failed',
										timestamp: ts,
										recipient_id: '33612347001',
										biz_opaque_callback_data: 'retry-me|A',
										errors: [{ code: 131026, title: 'Message undeliverable' }],
									},
								],
								messages: [
									{ from: '33612347002', id: 'wamid.stop1', timestamp: ts, type: 'text', text: { body: 'STOP' } },
								],
							},
						},
					],
				},
			],
		};
		// The first delivery fails when the counters are written (after the STOP and the failure's facts).
		let failures = 1;
		const failing: ComplianceStore = Object.create(store, {
			campaigns: {
				value: Object.create(store.campaigns, {
					incrementCounters: {
						value: async (...args: Parameters<ComplianceStore['campaigns']['incrementCounters']>) => {
							if (failures-- > 0) throw new StoreUnavailableError('disk full');
							return store.campaigns.incrementCounters(...args);
						},
					},
				}),
			},
		});
		await expect(processDelivery(failing, parseEnvelope(body)!, options)).rejects.toThrow('disk full');
		// Meta retries the same bytes: nothing was marked seen, so everything is applied now.
		const emitted = await processDelivery(failing, parseEnvelope(body)!, options);
		expect(emitted.optOut).toHaveLength(1);
		expect(await store.campaigns.counters('retry-me')).toMatchObject({ deliveryFailed: 1, 'deliveryFailed:131026': 1 });
		const stopped = store.contactKey('+33612347002');
		expect((await store.ledger.contactStates([stopped])).get(stopped)!.suppressions).toHaveLength(3);
		// A third delivery of the same bytes changes nothing.
		const again = await processDelivery(failing, parseEnvelope(body)!, options);
		expect(again.optOut).toHaveLength(0);
		expect(await store.campaigns.counters('retry-me')).toMatchObject({ deliveryFailed: 1 });
	});
});
