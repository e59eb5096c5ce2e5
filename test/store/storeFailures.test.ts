/**
 * Store failures the operator must be able to act on (issue #18): a Redis database the server does not
 * have, Redis going away and coming back, and a store file n8n cannot create. Real redis-server,
 * real files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { closeAllStores, openStore } from '../../nodes/store/openStore';
import { RedisStore } from '../../nodes/store/RedisStore';
import { SqliteStore } from '../../nodes/store/SqliteStore';
import { whatsAppComplianceRedisTest } from '../../nodes/store/storeParameter';
import { StoreUnavailableError } from '../../nodes/store/types';
import { runWorkflow } from '../harness/WorkflowHarness';
import { startRedisServer, type RedisServer, TEST_CONTACT_KEY_SECRET } from '../helpers/redisServer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(() => closeAllStores());

describe('a Redis database the server does not have', () => {
	let server: RedisServer;
	beforeAll(async () => (server = await startRedisServer()));
	afterAll(() => server.stop());

	test('is refused by the credential test and by the store, naming the host and the database', async () => {
		const result = await whatsAppComplianceRedisTest.call({} as never, {
			id: '1',
			name: 'Redis',
			type: 'whatsAppComplianceRedisApi',
			data: {
				host: server.host,
				port: server.port,
				database: 99,
				prefix: 'wac:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			} as never,
		});
		expect(result).toEqual({
			status: 'Error',
			message: expect.stringContaining(`Redis at ${server.host}:${server.port} has no database 99`),
		});
		await expect(RedisStore.open({ host: server.host, port: server.port, database: 99 })).rejects.toThrow(
			`Redis at ${server.host}:${server.port} has no database 99`,
		);
	});
});

describe('Redis that goes away and comes back', () => {
	test('fails closed while it is away, and is used again once it is back, without reopening the store', async () => {
		let server = await startRedisServer();
		const { host, port } = server;
		const store = await openStore({
			kind: 'redis',
			connection: { host, port, keyPrefix: 'recover:', contactKeySecret: TEST_CONTACT_KEY_SECRET },
		});
		try {
			expect(await store.dedupe.markSeen(['before'], 60_000)).toEqual([true]);
			await server.stop();
			await expect(store.check()).rejects.toBeInstanceOf(StoreUnavailableError);
			await expect(store.dedupe.markSeen(['during'], 60_000)).rejects.toThrow(`${host}:${port}`);
			// Longer than the 20 reconnection attempts (about 31 s) the store used to give up after.
			await sleep(35_000);
			server = await startRedisServer(port);
			let back = false;
			for (let i = 0; i < 50 && !back; i++) {
				back = await store.check().then(
					() => true,
					() => false,
				);
				if (!back) await sleep(200);
			}
			expect(back).toBe(true);
			expect(await store.dedupe.markSeen(['after'], 60_000)).toEqual([true]);
			// The same store object is the one every execution gets.
			expect(
				await openStore({
					kind: 'redis',
					connection: { host, port, keyPrefix: 'recover:', contactKeySecret: TEST_CONTACT_KEY_SECRET },
				}),
			).toBe(store);
		} finally {
			await server.stop();
		}
	}, 90_000);
});

describe('a store file n8n cannot create', () => {
	test('the error names the path and says why, in words n8n does not replace', async () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'wac-badpath-'));
		writeFileSync(path.join(dir, 'a-file'), '');
		const file = path.join(dir, 'a-file', 'store.sqlite');
		expect(() => SqliteStore.open(file)).toThrow(`The compliance store ${file} could not be opened`);
		expect(() => SqliteStore.open(file)).toThrow(`${path.join(dir, 'a-file')} is a file, not a folder`);

		const previous = process.env.WHATSAPP_COMPLIANCE_DB;
		process.env.WHATSAPP_COMPLIANCE_DB = file;
		try {
			const result = await runWorkflow('consent-check.json', {
				items: [{ whatsapp: { e164: '+33612345678' }, whatsappOptIn: true }],
				parameters: { 'Consent Gate': {} },
			});
			expect(result.error?.message).toContain(file);
			expect(result.error?.message).not.toMatch(/ENOTDIR/i);
		} finally {
			process.env.WHATSAPP_COMPLIANCE_DB = previous;
		}
	});
});

describe('the built-in store in n8n’s queue mode', () => {
	const run = () =>
		runWorkflow('consent-check.json', {
			items: [{ whatsapp: { e164: '+33612345679' }, whatsappOptIn: true }],
			parameters: { 'Consent Gate': {} },
		});
	const withEnv = async (env: Record<string, string | undefined>, work: () => Promise<void>) => {
		const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
		for (const [k, v] of Object.entries(env))
			if (v === undefined) delete process.env[k];
			else process.env[k] = v;
		try {
			await work();
		} finally {
			for (const [k, v] of Object.entries(previous))
				if (v === undefined) delete process.env[k];
				else process.env[k] = v;
		}
	};

	test('is refused with a message that says to use the Redis store', async () => {
		await withEnv({ EXECUTIONS_MODE: 'queue', WHATSAPP_COMPLIANCE_DB_SHARED: undefined }, async () => {
			const result = await run();
			expect(result.error?.message).toMatch(/queue mode.*use the Redis store/);
		});
	});

	test('is allowed when the operator states that the file is shared by every worker', async () => {
		await withEnv({ EXECUTIONS_MODE: 'queue', WHATSAPP_COMPLIANCE_DB_SHARED: 'true' }, async () => {
			expect((await run()).status).toBe('success');
		});
	});
});
