/**
 * The Redis store's contact-key secret is not beside the data (issue #18): it comes from the credential
 * (which n8n encrypts) and Redis keeps only a check value. Stores created before keep working and move
 * their secret out of Redis once it is entered in the credential. A real redis-server.
 */
import { createHmac, randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { RedisStore } from '../../nodes/store/RedisStore';
import { whatsAppComplianceRedisTest } from '../../nodes/store/storeParameter';
import { startRedisServer, type RedisServer } from '../helpers/redisServer';

let server: RedisServer;
let raw: Redis;
beforeAll(async () => {
	server = await startRedisServer();
	raw = new Redis({ host: server.host, port: server.port });
});
afterAll(async () => {
	raw.disconnect();
	await server.stop();
});

const open = (keyPrefix: string, contactKeySecret?: string) =>
	RedisStore.open({ host: server.host, port: server.port, keyPrefix, contactKeySecret });
const credentialTest = (prefix: string, contactKeySecret?: string) =>
	whatsAppComplianceRedisTest.call({} as never, {
		id: '1',
		name: 'Redis',
		type: 'whatsAppComplianceRedisApi',
		data: { host: server.host, port: server.port, database: 0, prefix, contactKeySecret } as never,
	});
/** Every key and every value Redis holds under a prefix. */
async function dump(prefix: string): Promise<string> {
	const keys = await raw.keys(`${prefix}*`);
	const parts = [...keys];
	for (const key of keys) parts.push(JSON.stringify(await raw.dump(key)));
	return parts.join('\n');
}

test('a new store needs a Contact Key Secret: the node and the credential test say so, and nothing is written', async () => {
	await expect(open('new:')).rejects.toThrow(
		/needs a Contact Key Secret: enter one in the WhatsApp Compliance Redis credential/,
	);
	expect(await credentialTest('new:')).toMatchObject({
		status: 'Error',
		message: expect.stringContaining('needs a Contact Key Secret'),
	});
	expect(await raw.keys('new:*')).toEqual([]);
});

test('with the secret in the credential, Redis holds no copy of it: a dump alone cannot key a number', async () => {
	const secret = randomBytes(32).toString('hex');
	const store = await open('fresh:', secret);
	const key = store.contactKey('+33612345678');
	await store.ledger.recordConsent([
		{ contactKey: key, action: 'opt_out', categories: ['all'], at: Date.now(), source: 'whatsapp-keyword' },
	]);
	expect(key).toBe(createHmac('sha256', Buffer.from(secret, 'hex')).update('+33612345678').digest('hex'));
	const everything = await dump('fresh:');
	expect(everything).toContain(key);
	expect(everything).not.toContain(secret);
	expect(await raw.exists('fresh:secret')).toBe(0);
	await store.close();
	// Another n8n sharing the store with another secret would key people apart: refused, by the node and the test.
	await expect(open('fresh:', randomBytes(32).toString('hex'))).rejects.toThrow(
		/not the one the Redis store at .* was created with: every n8n sharing the store needs the same secret/,
	);
	expect((await credentialTest('fresh:', 'x'.repeat(40))).status).toBe('Error');
	expect(await credentialTest('fresh:', secret)).toMatchObject({ status: 'OK' });
	await expect(open('fresh:', 'too-short')).rejects.toThrow(/at least 32 characters/);
});

test('a store created before the field existed keeps its keys, and its secret leaves Redis once entered in the credential', async () => {
	// As earlier versions left it: a random secret at <prefix>secret, keys made with it.
	const legacy = randomBytes(32).toString('hex');
	await raw.set('old:secret', legacy);
	const before = await open('old:');
	const key = before.contactKey('+33612345678');
	expect(key).toBe(createHmac('sha256', Buffer.from(legacy, 'hex')).update('+33612345678').digest('hex'));
	await before.close();
	// A wrong value in the credential is refused, naming the key to copy from; nothing changes.
	await expect(open('old:', randomBytes(32).toString('hex'))).rejects.toThrow(/copy the value of the key old:secret/);
	expect(await raw.get('old:secret')).toBe(legacy);
	// The right one: same keys, and the copy beside the data is gone.
	const after = await open('old:', legacy);
	expect(after.contactKey('+33612345678')).toBe(key);
	expect(await raw.exists('old:secret')).toBe(0);
	expect(await dump('old:')).not.toContain(legacy);
	await after.close();
	// From then on the credential's secret is required.
	await expect(open('old:')).rejects.toThrow(/needs a Contact Key Secret/);
});
