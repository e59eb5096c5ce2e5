/**
 * The store fails in the middle of a campaign (issue #18): sending stops in the process at once, every
 * item still leaves through exactly one output, the ones not sent say STORE_UNAVAILABLE, and the node
 * does not fail the run. A real redis-server, stopped while Template Send runs against the sandbox.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { closeAllStores } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { startRedisServer, type RedisServer } from '../helpers/redisServer';
import { CloudApiSandbox } from '../sandbox/server.ts';

let sandbox: CloudApiSandbox;
let redis: RedisServer;
beforeAll(async () => {
	sandbox = await CloudApiSandbox.start({ latencyMs: 20 });
	redis = await startRedisServer();
});
afterAll(async () => {
	await closeAllStores();
	await redis.stop();
	await sandbox.close();
});

test('Redis stops mid-campaign: no request leaves after the failure is seen, every item in one output, the rest Not Sent STORE_UNAVAILABLE', async () => {
	const recipients = Array.from({ length: 300 }, (_, i) => `+3361${String(8_000_000 + i)}`);
	// Redis goes away once Meta has accepted a few dozen messages.
	let stoppedAt = 0;
	const watcher = setInterval(() => {
		if (stoppedAt || sandbox.acceptedSends().length < 30) return;
		stoppedAt = Date.now();
		clearInterval(watcher);
		void redis.stop();
	}, 5);
	const result = await runWorkflow('template-send.json', {
		items: recipients.map((e164) => ({ whatsapp: { e164 } })),
		credentials: {
			whatsAppCloudApi: sandbox.credentials(),
			whatsAppComplianceRedisApi: { host: redis.host, port: redis.port, database: 0, prefix: 'fail:' },
		},
		parameters: {
			'Template Send': {
				store: 'redis',
				campaignId: 'store-fails',
				template: { __rl: true, mode: 'name', value: 'hello_world:en_US' },
				variables: { mappingMode: 'defineBelow', value: {}, matchingColumns: [], schema: [] },
				options: { rate: 100, concurrency: 8 },
			},
		},
	});
	clearInterval(watcher);
	expect(stoppedAt).toBeGreaterThan(0);
	expect(result.status).toBe('success');
	const [sent, failed, notSent] = result.outputs('Template Send') as INodeExecutionData[][];
	expect(sent.length + failed.length + notSent.length).toBe(recipients.length);
	const items = new Set([...sent, ...failed, ...notSent].map((i) => (i.pairedItem as { item: number }).item));
	expect(items.size).toBe(recipients.length);
	expect(sent.length).toBeGreaterThan(0);
	expect(notSent.length).toBeGreaterThan(0);
	for (const item of notSent)
		expect(item.json.whatsappSend).toMatchObject({ status: 'not_sent', reason: 'STORE_UNAVAILABLE' });
	// Meta's side agrees: everything it accepted is on Sent, and nothing reached it long after Redis went.
	const accepted = sandbox.acceptedSends();
	expect(accepted).toHaveLength(sent.length);
	const last = Math.max(...accepted.map((r) => r.receivedAt));
	expect(last).toBeLessThan(stoppedAt + 1_000);
	// Requests that were on the wire when Redis went are Sent, flagged as not yet in the campaign log.
	const unrecorded = sent.filter((i) => (i.json.whatsappSend as IDataObject).recorded === false);
	for (const item of unrecorded)
		expect((item.json.whatsappSend as IDataObject).warning).toMatch(/Meta accepted this message/);
}, 60_000);
