/**
 * processDelivery against a real embedded store: dedupe marks are written after the effects they
 * guard, so a store failure in the middle of a delivery loses nothing when Meta retries the same bytes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseEnvelope } from '../../nodes/core/webhooks';
import { STATUS_SENT } from '../fixtures/metaWebhooks';
import { RedisStore } from '../../nodes/store/RedisStore';
import { SqliteStore } from '../../nodes/store/SqliteStore';
import { startRedisServer, TEST_CONTACT_KEY_SECRET, type RedisServer } from '../helpers/redisServer';
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
		// The first delivery fails at its last step, the counters with the marks (after the STOP's effects).
		let failures = 1;
		const failing: ComplianceStore = Object.create(store, {
			dedupe: {
				value: Object.create(store.dedupe, {
					commit: {
						value: async (...args: Parameters<ComplianceStore['dedupe']['commit']>) => {
							if (failures-- > 0) throw new StoreUnavailableError('disk full');
							return store.dedupe.commit(...args);
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

/** pywa's "sent" status envelope (test/fixtures/metaWebhooks.ts) for this message, status and campaign. */
function statusPost(messageId: string, status: string, campaign: string, at: number) {
	const body = structuredClone(STATUS_SENT);
	Object.assign(body.entry[0].changes[0].value.statuses[0], {
		id: messageId,
		status,
		timestamp: String(Math.floor(at / 1000)),
		recipient_id: '33612347101',
		biz_opaque_callback_data: `${campaign}|A`,
	});
	return body;
}

describe.each(['embedded SQLite', 'Redis'])('processDelivery on %s: deliveries racing with one message', (kind) => {
	let store: ComplianceStore;
	let redis: RedisServer | undefined;
	beforeAll(async () => {
		if (kind === 'Redis') {
			redis = await startRedisServer();
			store = await RedisStore.open({
				host: redis.host,
				port: redis.port,
				keyPrefix: 'race:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			});
		} else store = SqliteStore.open(path.join(mkdtempSync(path.join(tmpdir(), 'wac-race-')), 'store.sqlite'));
	});
	afterAll(async () => {
		await store.close();
		await redis?.stop();
	});

	test('delivered and read of the same messages in concurrent POSTs: each message delivered once, read once', async () => {
		// Seen with the Redis store in n8n queue mode: 310 delivered for 250 messages, the two POSTs
		// each taking the message's first delivery for theirs.
		const at = Date.now() - 5_000;
		const posts = Array.from({ length: 40 }, (_, i) => [
			statusPost(`wamid.race${i}`, 'delivered', `race-${kind}`, at),
			statusPost(`wamid.race${i}`, 'read', `race-${kind}`, at + 1_000),
			statusPost(`wamid.race${i}`, 'read', `race-${kind}`, at + 1_000),
		]).flat();
		await Promise.all(posts.map((body) => processDelivery(store, parseEnvelope(body)!, options)));
		expect(await store.campaigns.counters(`race-${kind}`)).toMatchObject({
			delivered: 40,
			'variant:A:delivered': 40,
			read: 40,
		});
	});
});
