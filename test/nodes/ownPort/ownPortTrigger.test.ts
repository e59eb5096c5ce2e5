/**
 * What only the Own Port trigger has: its HTTP server (paths, methods, body limit), its activation
 * (port in use, no App Secret, deactivation freeing the port) and its answer when the store cannot take
 * a webhook. What a webhook means is tested against both receivers (the other files in this folder).
 */
import { createServer } from 'node:net';

import { closeAllStores, openStore } from '../../../nodes/store/openStore';
import { startRedisServer, TEST_CONTACT_KEY_SECRET } from '../../helpers/redisServer';
import { sign, startMonitorLoop, APP_SECRET, VERIFY_TOKEN, type MonitorLoop } from '../../harness/monitorLoop';
import { startTriggerHost } from '../../harness/webhookHost';
import { metaJson } from '../../sandbox/server.ts';

const NODE = 'whatsAppDeliveryMonitorOwnPortTrigger';
const parameters = { store: 'builtIn', emitStatuses: ['failed'], options: {} };
const cloudApi = { whatsAppCloudApi: { accessToken: 't', appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN } };

const statusBody = (id: string, status = 'delivered') =>
	metaJson({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: '102290129340398',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
							statuses: [
								{
									id,
									status,
									timestamp: String(Math.floor(Date.now() / 1000)),
									recipient_id: '33612340001',
									biz_opaque_callback_data: 'wac1|own-port-store|A',
								},
							],
						},
					},
				],
			},
		],
	});
const post = (url: string, body: string, signature = sign(body)) =>
	fetch(url, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
		body,
	});

afterAll(() => closeAllStores());

describe('its HTTP server', () => {
	let loop: MonitorLoop;
	beforeAll(async () => (loop = await startMonitorLoop('ownPort')));
	afterAll(() => loop.close());

	test('answers Meta’s challenge on its path, 404 on any other path, 405 to other methods', async () => {
		const url = loop.host.url;
		const challenge = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`);
		expect([challenge.status, await challenge.text()]).toEqual([200, '42']);
		// Its path with a trailing slash is its path: the challenge check answers (403 without a token).
		expect((await fetch(`${url}/`)).status).toBe(403);
		expect((await fetch(url.replace('/whatsapp', '/other'))).status).toBe(404);
		expect((await fetch(url, { method: 'PUT', body: '{}' })).status).toBe(405);
	});

	test('refuses a body over Meta’s 3 MB limit with 413, and an unsigned or wrongly signed one with 401', async () => {
		const big = JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(3 * 1024 * 1024) });
		expect((await post(loop.host.url, big)).status).toBe(413);
		const body = statusBody('wamid.own-port.unsigned');
		expect((await post(loop.host.url, body, '')).status).toBe(401);
		expect((await post(loop.host.url, body, sign(body, 'another-secret'))).status).toBe(401);
		expect(await openStore({ kind: 'sqlite' }).then((s) => s.campaigns.counters('own-port-store'))).toEqual({});
	});
});

describe('activation and deactivation', () => {
	test('a port already in use fails activation with a message naming the port', async () => {
		const blocker = createServer();
		await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
		const { port } = blocker.address() as { port: number };
		try {
			await expect(startTriggerHost(NODE, { ...parameters, port }, cloudApi)).rejects.toThrow(
				`Port ${port} on 127.0.0.1 is already in use`,
			);
		} finally {
			blocker.close();
		}
	});

	test('a credential without an App Secret is refused at activation, not on the first webhook', async () => {
		await expect(
			startTriggerHost(NODE, parameters, { whatsAppCloudApi: { accessToken: 't', verifyToken: VERIFY_TOKEN } }),
		).rejects.toThrow('The WhatsApp Cloud API credential has no App Secret');
	});

	test('deactivation closes the server and frees the port for the next activation', async () => {
		const first = await startTriggerHost(NODE, parameters, cloudApi);
		const port = Number(new URL(first.url).port);
		await first.close();
		await expect(fetch(first.url)).rejects.toThrow();
		const again = await startTriggerHost(NODE, { ...parameters, port }, cloudApi);
		expect(
			(await fetch(`${again.url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=7`)).status,
		).toBe(200);
		await again.close();
	});
});

describe('when the store cannot take a webhook', () => {
	test('answers 503 so that Meta retries, and applies the retry once the store is back', async () => {
		let redis = await startRedisServer();
		const { host, port } = redis;
		const trigger = await startTriggerHost(
			NODE,
			{ ...parameters, store: 'redis' },
			{
				...cloudApi,
				whatsAppComplianceRedisApi: {
					host,
					port,
					database: 0,
					prefix: 'ownport:',
					contactKeySecret: TEST_CONTACT_KEY_SECRET,
				},
			},
		);
		try {
			const body = statusBody('wamid.own-port.503');
			await redis.stop();
			const refused = await post(trigger.url, body);
			expect(refused.status).toBe(503);
			redis = await startRedisServer(port);
			let status = 0;
			for (let i = 0; i < 50 && status !== 200; i++) {
				status = (await post(trigger.url, body)).status;
				if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
			}
			expect(status).toBe(200);
			// Meta's later duplicate of the same bytes changes nothing.
			expect((await post(trigger.url, body)).status).toBe(200);
			const store = await openStore({
				kind: 'redis',
				connection: { host, port, keyPrefix: 'ownport:', contactKeySecret: TEST_CONTACT_KEY_SECRET },
			});
			expect(await store.campaigns.counters('own-port-store')).toMatchObject({ delivered: 1 });
		} finally {
			await trigger.close();
			await redis.stop();
		}
	}, 30_000);
});

describe('more than one machine', () => {
	test('two receivers behind one load balancer share the Redis store: each status counts once, whichever receiver Meta’s delivery or its retry reaches', async () => {
		const redis = await startRedisServer();
		const credentials = {
			...cloudApi,
			whatsAppComplianceRedisApi: {
				host: redis.host,
				port: redis.port,
				database: 0,
				prefix: 'two:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			},
		};
		const [a, b] = [
			await startTriggerHost(NODE, { ...parameters, store: 'redis' }, credentials),
			await startTriggerHost(NODE, { ...parameters, store: 'redis' }, credentials),
		];
		try {
			// Round robin, and Meta's retry of each delivery lands on the other receiver.
			for (let i = 0; i < 20; i++) {
				const body = statusBody(`wamid.two.${i}`);
				expect((await post((i % 2 ? a : b).url, body)).status).toBe(200);
				expect((await post((i % 2 ? b : a).url, body)).status).toBe(200);
			}
			const store = await openStore({
				kind: 'redis',
				connection: {
					host: redis.host,
					port: redis.port,
					keyPrefix: 'two:',
					contactKeySecret: TEST_CONTACT_KEY_SECRET,
				},
			});
			expect(await store.campaigns.counters('own-port-store')).toMatchObject({ delivered: 20 });
		} finally {
			await a.close();
			await b.close();
			await redis.stop();
		}
	}, 30_000);
});
