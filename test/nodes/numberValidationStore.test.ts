import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { closeAllStores, openStore, type StoreConfig } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { startRedisServer, type RedisServer, TEST_CONTACT_KEY_SECRET } from '../helpers/redisServer';

const NODE = 'Validate numbers';
const DAY = 86_400_000;

let redis: RedisServer;
beforeAll(async () => {
	redis = await startRedisServer();
});
afterAll(async () => {
	await closeAllStores();
	await redis.stop();
});

const stores: Array<{
	name: string;
	config: () => StoreConfig;
	parameters: IDataObject;
	credentials: () => Record<string, ICredentialDataDecryptedObject>;
}> = [
	{
		name: 'built-in store',
		config: () => ({ kind: 'sqlite' }),
		parameters: { store: 'builtIn' },
		credentials: () => ({}),
	},
	{
		name: 'Redis store',
		config: () => ({
			kind: 'redis',
			connection: { host: redis.host, port: redis.port, keyPrefix: 'nv:', contactKeySecret: TEST_CONTACT_KEY_SECRET },
		}),
		parameters: { store: 'redis' },
		credentials: () => ({
			whatsAppComplianceRedisApi: {
				host: redis.host,
				port: redis.port,
				database: 0,
				tls: false,
				prefix: 'nv:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			},
		}),
	},
];

describe.each(stores)('Number Validation with the $name', ({ config, parameters, credentials }) => {
	test('numbers recorded as not on WhatsApp (131026) within 90 days go to Invalid as NOT_ON_WHATSAPP', async () => {
		const store = await openStore(config());
		await store.facts.markUndeliverable(store.contactKey('+33612345678'), Date.now() - 10 * DAY);
		await store.facts.markUndeliverable(store.contactKey('+33698765432'), Date.now() - 100 * DAY);

		const items = [{ phone: '06 12 34 56 78' }, { phone: '06 98 76 54 32' }, { phone: '06 11 22 33 44' }];
		const result = await runWorkflow('number-validation.json', {
			items,
			credentials: credentials(),
			parameters: { [NODE]: { ...parameters, defaultCountry: 'FR' } },
		});
		expect(result.status).toBe('success');
		const [valid, invalid] = result.outputs(NODE);
		expect(valid.map((i) => (i.json.whatsapp as IDataObject).e164)).toEqual(['+33698765432', '+33611223344']);
		expect(invalid).toHaveLength(1);
		expect(invalid[0].pairedItem).toEqual({ item: 0 });
		expect(invalid[0].json.whatsapp).toEqual({
			valid: false,
			reason: 'NOT_ON_WHATSAPP',
			input: '06 12 34 56 78',
			recipient: '+33612345678',
			e164: '+33612345678',
			undeliverableSince: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
		});
	});

	test('a shorter window and the option turned off let them through', async () => {
		const store = await openStore(config());
		await store.facts.markUndeliverable(store.contactKey('+33655555555'), Date.now() - 10 * DAY);
		const items = [{ phone: '+33655555555' }];
		const shortWindow = await runWorkflow('number-validation.json', {
			items,
			credentials: credentials(),
			parameters: { [NODE]: { ...parameters, options: { undeliverableDays: 7 } } },
		});
		expect(shortWindow.outputs(NODE)[0]).toHaveLength(1);
		const off = await runWorkflow('number-validation.json', {
			items,
			credentials: credentials(),
			parameters: { [NODE]: { ...parameters, excludeUndeliverable: false } },
		});
		expect(off.outputs(NODE)[0]).toHaveLength(1);
		const on = await runWorkflow('number-validation.json', {
			items,
			credentials: credentials(),
			parameters: { [NODE]: { ...parameters } },
		});
		expect(on.outputs(NODE)[1]).toHaveLength(1);
	});
});

test('an unreachable Redis stops the node with a message naming the host, and nothing leaves as valid', async () => {
	const server = await startRedisServer();
	const { port } = server;
	await server.stop();
	const result = await runWorkflow('number-validation.json', {
		items: [{ phone: '+33612345678' }],
		credentials: {
			whatsAppComplianceRedisApi: {
				host: '127.0.0.1',
				port,
				database: 0,
				tls: false,
				prefix: 'x:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			},
		},
		parameters: { [NODE]: { store: 'redis' } },
	});
	expect(result.status).toBe('error');
	expect(result.error?.message).toBe(
		`Redis at 127.0.0.1:${port} is unreachable: connection refused (is Redis running and listening there?)`,
	);
	expect(result.error?.description).toMatch(/WhatsApp Compliance Redis credential/);
});
