import { whatsAppComplianceRedisTest } from '../../nodes/store/storeParameter';
import { startRedisServer, TEST_CONTACT_KEY_SECRET } from '../helpers/redisServer';

const run = (data: Record<string, unknown>) =>
	whatsAppComplianceRedisTest.call({} as never, {
		id: '1',
		name: 'Redis',
		type: 'whatsAppComplianceRedisApi',
		data: data as never,
	});

test('the WhatsApp Compliance Redis credential test pings the server, and names it when it cannot', async () => {
	const server = await startRedisServer();
	try {
		await expect(
			run({
				host: server.host,
				port: server.port,
				database: 0,
				tls: false,
				prefix: 'wac:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			}),
		).resolves.toEqual({
			status: 'OK',
			message: `Connected to Redis at ${server.host}:${server.port} (PONG)`,
		});
	} finally {
		await server.stop();
	}
	const result = await run({ host: server.host, port: server.port, database: 0 });
	expect(result.status).toBe('Error');
	expect(result.message).toBe(
		`Redis at ${server.host}:${server.port}: connection refused (is Redis running and listening there?)`,
	);
});
