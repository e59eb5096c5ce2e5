import { spawn } from 'node:child_process';

import type { IDataObject } from 'n8n-workflow';

import { closeAllStores, openStore } from '../../nodes/store/openStore';
import { PACKAGE_ROOT, runWorkflow } from '../harness/WorkflowHarness';
import { spawnTs } from '../helpers/childProcess';
import { startWebhookHost } from '../harness/webhookHost';
import { CloudApiSandbox } from '../sandbox/server.ts';

const SEND = 'Template Send';
const helloWorld = {
	template: { __rl: true, mode: 'name', value: 'hello_world:en_US' },
	variables: { mappingMode: 'defineBelow', value: {}, matchingColumns: [], schema: [] },
};
const numbers = (count: number, base: number) =>
	Array.from({ length: count }, (_, i) => `+3362${String(base + i).padStart(7, '0')}`);

let sandbox: CloudApiSandbox;
beforeAll(async () => {
	sandbox = await CloudApiSandbox.start({ recordBodies: false });
});
afterAll(async () => {
	await closeAllStores();
	await sandbox.close();
});
beforeEach(() => {
	sandbox.resetLog();
	sandbox.resetLimits();
	sandbox.latencyMs = 0;
	sandbox.setThroughput(80);
});

const child = (script: string, args: string[]) => spawnTs(script, args);

/** Each recipient's accepted messages, from the sandbox's own log. */
function receivedPerRecipient() {
	const counts = new Map<string, number>();
	for (const request of sandbox.acceptedSends()) counts.set(request.to!, (counts.get(request.to!) ?? 0) + 1);
	return counts;
}

test('5,000 sends at an 80/s limit with 150 ms latency: throughput errors rare and recovered, every item in one output once, counters equal outputs', async () => {
	// The sandbox runs in its own process, as Meta does: a pause in this process cannot bunch its clock.
	const remote = spawn(
		process.execPath,
		['test/sandbox/cli.ts', '--port', '0', '--latency', '150', '--throughput', '80'],
		{ cwd: PACKAGE_ROOT },
	);
	try {
		const baseUrl = await new Promise<string>((resolve, reject) => {
			let out = '';
			remote.stdout.on('data', (c: Buffer) => {
				out += c.toString();
				const match = /listening on (http:\/\/[^\s]+)/.exec(out);
				if (match) resolve(match[1]);
			});
			remote.on('exit', (code) => reject(new Error(`sandbox exited ${code}`)));
		});
		const recipients = numbers(5000, 1_000_000);
		const started = Date.now();
		const result = await runWorkflow('template-send.json', {
			items: recipients.map((e164) => ({ whatsapp: { e164 } })),
			credentials: { whatsAppCloudApi: { ...sandbox.credentials(), baseUrl } },
			parameters: { [SEND]: { ...helloWorld, campaignId: 'five-thousand', options: { rate: 80 } } },
		});
		const seconds = (Date.now() - started) / 1000;
		const [sent, failed, notSent] = result.outputs(SEND);
		expect(sent.length + failed.length + notSent.length).toBe(5000);
		expect(sent).toHaveLength(5000);
		const state = (await (await fetch(`${baseUrl}/_sandbox/counters`)).json()) as {
			throttled: number;
			accepted: Array<{ to: string }>;
		};
		// Zero is the benchmark's target (bench/RESULTS.md records it); a test cannot promise it on a shared
		// two-core machine, where a stall in either process can put one request too many in a second.
		// What it asserts: throughput errors stay rare (0.5 %; unpaced, thousands) and every one was recovered.
		expect(state.throttled).toBeLessThanOrEqual(25);
		expect(new Set(state.accepted.map((a) => a.to)).size).toBe(5000);
		expect(state.accepted).toHaveLength(5000);
		const counters = await (await openStore({ kind: 'sqlite' })).campaigns.counters('five-thousand');
		expect(counters).toMatchObject({ sent: 5000, 'variant:A:sent': 5000 });
		const hourly = Object.entries(counters).filter(([name]) => name.startsWith('hour:'));
		expect(hourly.reduce((sum, [, value]) => sum + value, 0)).toBe(5000);
		expect(Object.keys(counters).length).toBe(2 + hourly.length);
		// Recorded for the notes, not asserted: wall-clock figures belong to npm run bench.
		console.info(
			`5,000 sends in ${seconds.toFixed(1)} s (${(5000 / seconds).toFixed(1)} msg/s), ${state.throttled} x 130429 retried`,
		);
	} finally {
		remote.kill('SIGTERM');
	}
}, 180_000);

test('a pause set from another process stops sending within 0.5 s (measured from the sandbox log)', async () => {
	const recipients = numbers(600, 2_000_000);
	sandbox.latencyMs = 20;
	const run = runWorkflow('template-send.json', {
		items: recipients.map((e164) => ({ whatsapp: { e164 } })),
		credentials: { whatsAppCloudApi: sandbox.credentials() },
		parameters: { [SEND]: { ...helloWorld, campaignId: 'pause-me', options: { rate: 50 } } },
	});
	await new Promise((resolve) => setTimeout(resolve, 1500));
	const pauser = child('test/workers/pauseWorker.ts', [
		JSON.stringify({ file: process.env.WHATSAPP_COMPLIANCE_DB, campaignId: 'pause-me' }),
	]);
	const pausedAt = await new Promise<number>((resolve, reject) => {
		let out = '';
		pauser.stdout.on('data', (c: Buffer) => (out += c.toString()));
		pauser.on('exit', (code) =>
			code === 0 ? resolve(Number(out.trim())) : reject(new Error(`pauser exited ${code}`)),
		);
	});
	const result = await run;
	const [sent, , notSent] = result.outputs(SEND);
	const last = Math.max(...sandbox.acceptedSends().map((r) => r.receivedAt));
	const propagationMs = last - pausedAt;
	expect(sent.length).toBeGreaterThan(20);
	expect(notSent.length).toBeGreaterThan(300);
	expect(notSent.every((i) => (i.json.whatsappSend as IDataObject).reason === 'PAUSED')).toBe(true);
	expect(sent.length + notSent.length).toBe(600);
	expect(propagationMs).toBeLessThanOrEqual(500);
	console.info(`pause propagation: last request ${propagationMs} ms after the pause was committed`);
	// Resuming lets the rest go out, and nobody gets a second message.
	const store = await openStore({ kind: 'sqlite' });
	await store.campaigns.setPause({ scope: 'campaign', id: 'pause-me', paused: false, at: Date.now() });
	const resumed = await runWorkflow('template-send.json', {
		items: recipients.map((e164) => ({ whatsapp: { e164 } })),
		credentials: { whatsAppCloudApi: sandbox.credentials() },
		parameters: { [SEND]: { ...helloWorld, campaignId: 'pause-me', options: { rate: 200 } } },
	});
	expect(resumed.outputs(SEND)[0]).toHaveLength(notSent.length);
	expect([...receivedPerRecipient().values()].every((count) => count === 1)).toBe(true);
	expect(receivedPerRecipient().size).toBe(600);
}, 60_000);

test('a process killed halfway through a 2,000-message campaign, then re-run: nobody gets two messages, everyone gets one', async () => {
	// The Delivery Monitor receives the sandbox's status webhooks, as in production: it is how requests
	// that were on the wire when the sender died get resolved (Meta accepted them, or never saw them).
	const host = await startWebhookHost(
		'whatsAppDeliveryMonitorTrigger',
		{ store: 'builtIn', emitStatuses: [], autoPause: false, options: {} },
		{ whatsAppCloudApi: sandbox.credentials({ appSecret: 'kill-test-secret' }) },
	);
	sandbox.webhook = {
		url: host.url,
		appSecret: 'kill-test-secret',
		statusDelayMs: 5,
		batchDelayMs: 50,
		statuses: ['sent'],
	};
	try {
		sandbox.latencyMs = 30;
		const recipients = numbers(2000, 3_000_000);
		const parameters = { ...helloWorld, campaignId: 'killed', options: { rate: 200, claimTimeoutSeconds: 2 } };
		const sender = child('test/workers/sendWorker.ts', [
			JSON.stringify({ numbers: recipients, credentials: { whatsAppCloudApi: sandbox.credentials() }, parameters }),
		]);
		await new Promise<void>((resolve, reject) => {
			const timer = setInterval(() => {
				if (sandbox.counters.accepted >= 1000) {
					clearInterval(timer);
					sender.kill('SIGKILL');
				}
			}, 5);
			sender.on('exit', () => resolve());
			sender.on('error', reject);
		});
		const beforeRerun = sandbox.counters.accepted;
		expect(beforeRerun).toBeGreaterThanOrEqual(1000);
		expect(beforeRerun).toBeLessThan(2000);
		// Statuses of what Meta accepted reach the monitor; claims left "in flight" time out.
		await sandbox.flushWebhooks();
		await new Promise((resolve) => setTimeout(resolve, 2_100));

		const rerun = await runWorkflow('template-send.json', {
			items: recipients.map((e164) => ({ whatsapp: { e164 } })),
			credentials: { whatsAppCloudApi: sandbox.credentials() },
			parameters: { [SEND]: parameters },
		});
		const [sent, failed, notSent] = rerun.outputs(SEND);
		expect(failed).toHaveLength(0);
		const received = receivedPerRecipient();
		const twice = [...received.entries()].filter(([, count]) => count > 1);
		const never = recipients.filter((r) => !received.has(r));
		console.info(`killed after ${beforeRerun} accepted; re-run sent ${sent.length}, skipped ${notSent.length}`);
		expect(twice).toEqual([]);
		expect(never).toEqual([]);
		expect(sent.length + beforeRerun).toBe(2000);
	} finally {
		sandbox.webhook = undefined;
		await host.close();
	}
}, 120_000);
