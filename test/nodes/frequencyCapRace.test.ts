import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { runTs } from '../helpers/childProcess';
import { startRedisServer, type RedisServer, TEST_CONTACT_KEY_SECRET } from '../helpers/redisServer';

let redis: RedisServer;
beforeAll(async () => {
	redis = await startRedisServer();
});
afterAll(async () => {
	await redis.stop();
});

const execution = (options: object, env: NodeJS.ProcessEnv) =>
	runTs<{ passed: number[] }>('test/workers/capRaceWorker.ts', [JSON.stringify(options)], env);

const cloud = {
	whatsAppCloudApi: {
		accessToken: 't',
		phoneNumberId: 'race-phone',
		businessAccountId: 'w',
		apiVersion: 'v26.0',
		baseUrl: 'http://127.0.0.1:9',
	},
};

describe.each([
	{ name: 'built-in store', store: { store: 'builtIn' }, credentials: () => cloud },
	{
		name: 'Redis store',
		store: { store: 'redis' },
		credentials: () => ({
			...cloud,
			whatsAppComplianceRedisApi: {
				host: redis.host,
				port: redis.port,
				database: 0,
				tls: false,
				prefix: 'race:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			},
		}),
	},
])('two executions racing through Frequency Cap ($name)', ({ store, credentials }) => {
	test('over the same 1,000 contacts with a cap of 1, each contact passes exactly once', async () => {
		const env = {
			WHATSAPP_COMPLIANCE_DB: path.join(mkdtempSync(path.join(tmpdir(), 'wac-cap-race-')), 'store.sqlite'),
		};
		const options = { startAt: Date.now() + 4_000, contacts: 1000, store, credentials: credentials() };
		const [a, b] = await Promise.all([execution(options, env), execution(options, env)]);
		const all = [...a.passed, ...b.passed];
		expect(all).toHaveLength(1000);
		expect(new Set(all).size).toBe(1000);
	});
});
