import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { GraphApiClient, graphApiConfigFromCredentials } from '../../nodes/transport/GraphApiClient';
import { USER_CHANGED_NUMBER, USER_CHANGED_NUMBER_WITH_BSUIDS, USER_CHANGED_USER_ID } from '../fixtures/metaWebhooks';
import { CloudApiSandbox } from './server.ts';

interface Received {
	raw: Buffer;
	signature: string;
	body: {
		object: string;
		entry: Array<{ id: string; changes: Array<{ field: string; value: Record<string, any> }> }>;
	};
}

/** A bare receiver standing where the Delivery Monitor will stand. */
async function startReceiver() {
	const received: Received[] = [];
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks);
			received.push({
				raw,
				signature: String(req.headers['x-hub-signature-256']),
				body: JSON.parse(raw.toString('utf8')),
			});
			res.writeHead(200).end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
	return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const APP_SECRET = 'app-secret-for-tests';

function verifies(raw: Buffer, header: string) {
	const expected = Buffer.from(`sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`);
	const given = Buffer.from(header);
	return expected.length === given.length && timingSafeEqual(expected, given);
}

const statuses = (received: Received[]) =>
	received.flatMap((r) =>
		r.body.entry.flatMap((e) => e.changes.flatMap((c) => (c.value.statuses ?? []) as Array<Record<string, any>>)),
	);

describe('sandbox status and inbound webhooks', () => {
	let receiver: Awaited<ReturnType<typeof startReceiver>>;
	let sandbox: CloudApiSandbox;
	let client: GraphApiClient;

	beforeEach(async () => {
		receiver = await startReceiver();
		sandbox = await CloudApiSandbox.start({
			webhook: { url: receiver.url, appSecret: APP_SECRET, statusDelayMs: 5, batchDelayMs: 10 },
		});
		client = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials()));
	});
	afterEach(async () => {
		await sandbox.close();
		await receiver.close();
	});

	const send = (to: string) =>
		client.sendTemplate({ to, name: 'hello_world', languageCode: 'en_US', bizOpaqueCallbackData: 'campaign-7:B' });

	test('posts sent, delivered and read, signed with HMAC-SHA256 of the raw body, echoing biz_opaque_callback_data', async () => {
		const { messageId } = await send('+447700900123');
		await sandbox.flushWebhooks();
		expect(receiver.received.length).toBeGreaterThan(0);
		for (const post of receiver.received) {
			expect(verifies(post.raw, post.signature)).toBe(true);
			expect(post.body.object).toBe('whatsapp_business_account');
			expect(post.body.entry[0].id).toBe(sandbox.businessAccountId);
			expect(post.body.entry[0].changes[0].value.metadata.phone_number_id).toBe(sandbox.defaultPhoneNumberId);
		}
		const all = statuses(receiver.received);
		expect(all.map((s) => s.status)).toEqual(['sent', 'delivered', 'read']);
		for (const status of all) {
			expect(status).toMatchObject({
				id: messageId,
				recipient_id: '447700900123',
				biz_opaque_callback_data: 'campaign-7:B',
			});
			expect(status.timestamp).toMatch(/^\d{10}$/);
		}
		expect(all[0].pricing).toEqual({ billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' });
	});

	test('a signature computed with another secret does not verify', async () => {
		await send('+447700900123');
		await sandbox.flushWebhooks();
		const post = receiver.received[0];
		const forged = `sha256=${createHmac('sha256', 'another-secret').update(post.raw).digest('hex')}`;
		expect(verifies(post.raw, forged)).toBe(false);
	});

	test('non-ASCII inbound text is escaped as \\uXXXX and the signature covers those exact bytes', async () => {
		sandbox.injectInboundText('+33612345678', 'Arrêt', 'Zoë');
		await sandbox.flushWebhooks();
		const [post] = receiver.received;
		expect(post.raw.toString('utf8')).toContain('Arr\\u00eat');
		expect(post.raw.toString('utf8')).toContain('Zo\\u00eb');
		expect(verifies(post.raw, post.signature)).toBe(true);
		// Re-serialising the parsed object gives other bytes, which is why a verifier must hash the raw body.
		const reserialised = Buffer.from(JSON.stringify(post.body));
		expect(verifies(reserialised, post.signature)).toBe(false);
		const value = post.body.entry[0].changes[0].value;
		expect(value.messages[0]).toMatchObject({ from: '33612345678', type: 'text', text: { body: 'Arrêt' } });
		expect(value.contacts[0]).toEqual({ profile: { name: 'Zoë' }, wa_id: '33612345678' });
	});

	test('identifier changes are posted in the shapes of Meta’s system messages (Chatwoot’s and pywa’s fixtures)', async () => {
		sandbox.setBsuid('+919812340051', 'IN.98123400051');
		sandbox.injectNumberChange('+919812340051', '+919812340052', 'IN.98123400052');
		sandbox.injectBsuidChange('IN.98123400052', 'IN.98123400053');
		await sandbox.flushWebhooks();
		const values = receiver.received.flatMap((r) => r.body.entry[0].changes.map((c: any) => c.value));
		const [numberChange, bsuidChange] = values.flatMap((v) => v.messages ?? []);
		expect(values.every((v) => v.contacts === undefined)).toBe(true);
		const keys = (o: object) => Object.keys(o).sort();
		const fixtureMessage = (f: { entry: Array<{ changes: Array<{ value: { messages: unknown[] } }> }> }) =>
			f.entry[0].changes[0].value.messages[0] as any;
		// Same fields as the fixtures: the envelope's message and its system object.
		expect(keys(numberChange)).toEqual(keys(USER_CHANGED_NUMBER.entry[0].changes[0].value.messages[0]));
		expect(keys(numberChange.system)).toEqual(
			keys({
				...USER_CHANGED_NUMBER.entry[0].changes[0].value.messages[0].system,
				...fixtureMessage(USER_CHANGED_NUMBER_WITH_BSUIDS).system,
			}),
		);
		expect(numberChange.system).toMatchObject({
			type: 'user_changed_number',
			wa_id: '919812340052',
			previous_user_id: 'IN.98123400051',
			user_id: 'IN.98123400052',
		});
		const {
			previous_parent_user_id: _p,
			parent_user_id: _n,
			...withoutParents
		} = fixtureMessage(USER_CHANGED_USER_ID).system;
		expect(keys(bsuidChange)).toEqual(keys(fixtureMessage(USER_CHANGED_USER_ID)));
		expect(keys(bsuidChange.system)).toEqual(keys(withoutParents));
		expect(bsuidChange.system).toEqual({
			type: 'user_changed_user_id',
			previous_user_id: 'IN.98123400052',
			user_id: 'IN.98123400053',
		});
	});

	test('a quick-reply tap carries the payload and the wamid it answers', async () => {
		const { messageId } = await send('+447700900123');
		sandbox.injectQuickReply('+447700900123', 'STOP_PROMOS', 'Stop promotions', messageId);
		await sandbox.flushWebhooks();
		const inbound = receiver.received.flatMap((r) => r.body.entry[0].changes.flatMap((c) => c.value.messages ?? []));
		expect(inbound[0]).toMatchObject({
			type: 'button',
			button: { payload: 'STOP_PROMOS', text: 'Stop promotions' },
			context: { id: messageId },
		});
	});

	test('a recipient scripted to fail later gets sent, then failed with Meta’s error object', async () => {
		sandbox.setOutcome('+5511987654321', { kind: 'failLater', code: 131026 });
		await send('+5511987654321');
		await sandbox.flushWebhooks();
		const all = statuses(receiver.received);
		expect(all.map((s) => s.status)).toEqual(['sent', 'failed']);
		expect(all[1].errors[0]).toMatchObject({
			code: 131026,
			title: 'Message undeliverable',
			error_data: { details: 'Message Undeliverable.' },
		});
	});

	test('statuses of many messages are batched into one POST up to the batch size', async () => {
		sandbox.webhook!.batchSize = 50;
		sandbox.webhook!.statuses = ['sent'];
		sandbox.webhook!.batchDelayMs = 200;
		await Promise.all(Array.from({ length: 30 }, (_, i) => send(`+4477009001${String(i).padStart(2, '0')}`)));
		await sandbox.flushWebhooks();
		expect(statuses(receiver.received)).toHaveLength(30);
		expect(receiver.received.length).toBeLessThan(30);
		expect(sandbox.counters.webhookPosts).toBe(receiver.received.length);
	});

	test('duplicated and out-of-order deliveries can be scripted, and the status log stays the ground truth', async () => {
		sandbox.webhook!.duplicateRate = 1;
		sandbox.webhook!.outOfOrder = true;
		sandbox.webhook!.statusDelayMs = 1;
		sandbox.webhook!.batchDelayMs = 100;
		await send('+447700900123');
		await sandbox.flushWebhooks();
		const all = statuses(receiver.received);
		expect(all).toHaveLength(6);
		expect(all.slice(0, 3).map((s) => s.status)).toEqual(['read', 'delivered', 'sent']);
		expect(sandbox.statusLog.map((s) => s.status)).toEqual(['sent', 'delivered', 'read']);
	});

	test('other subscription fields are posted as their own change', async () => {
		sandbox.injectField('user_preferences', {
			user_preferences: [
				{
					wa_id: '33612345678',
					detail: 'User requested to stop marketing messages',
					category: 'marketing_messages',
					value: 'stop',
					timestamp: 1751142888,
				},
			],
		});
		await sandbox.flushWebhooks();
		const change = receiver.received[0].body.entry[0].changes[0];
		expect(change.field).toBe('user_preferences');
		expect(change.value.user_preferences[0]).toMatchObject({ category: 'marketing_messages', value: 'stop' });
	});
});
