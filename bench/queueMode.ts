/**
 * Real n8n 2.41.1 in queue mode (test/e2e/environment.ts, `queueMode`): PostgreSQL, Bull on Redis, the
 * main process, two `n8n worker` processes at concurrency 5 and one `n8n webhook` process, the package
 * on the Redis store. Several campaign executions posted at once, on one phone number ID; what the
 * sandbox (Meta) saw: sustained rate, the busiest second, 130429s, recipients sent twice.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { CampaignEnvironment } from '../test/e2e/environment.ts';
import { sustainedRate } from './sustained.ts';
import { maxInOneSecond } from './workers.ts';

type Record_ = (key: string, value: number | string, unit?: string) => void;

export async function benchQueueMode(quick: boolean, record: Record_, notes: string[]) {
	console.log('\nReal n8n 2.41.1 in queue mode: main, 2 workers (concurrency 5), 1 webhook process…');
	const env = await CampaignEnvironment.start({
		log: (line) => console.log(`  ${line}`),
		sandbox: { recordBodies: false, latencyMs: 20 },
		queueMode: { workers: 2, concurrency: 5 },
		n8nEnv: { N8N_LOG_LEVEL: 'warn', EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
	});
	try {
		await env.provision({ ours: 'bench/workflows/send-ours.json' });
		// The senders alone: the sandbox's status webhooks are off, as in the single-instance runs.
		env.sandbox.webhook = undefined;
		let base = 0;
		const run = async (limit: number, executions: number, contacts: number, latencyMs: number) => {
			env.sandbox.setThroughput(limit);
			env.sandbox.latencyMs = latencyMs;
			env.sandbox.resetLog();
			env.sandbox.resetLimits();
			// The sandbox's own stalls (it shares the machine): a request it reads late is counted late.
			const stalls = monitorEventLoopDelay({ resolution: 5 });
			stalls.enable();
			const posts = Array.from({ length: executions }, (_, e) => {
				const first = (base += contacts) - contacts;
				return env.webhooks.postWebhook(env.webhookPaths.ours, {
					campaignId: `queue${limit}-${Date.now()}-${e}`,
					rate: limit,
					contacts: Array.from({ length: contacts }, (_, i) => ({ to: `+3368${String(first + i).padStart(7, '0')}` })),
				});
			});
			const answers = await Promise.all(posts);
			stalls.disable();
			const failed = answers.filter((a) => a.status !== 200);
			if (failed.length)
				notes.push(
					`Queue mode at ${limit}/s: ${failed.length} of ${executions} campaign requests answered ${failed.map((a) => a.status).join(', ')}.`,
				);
			const accepted = env.sandbox.acceptedSends();
			const perRecipient = new Map<string, number>();
			for (const a of accepted) perRecipient.set(a.to!, (perRecipient.get(a.to!) ?? 0) + 1);
			const key = `send.queue${limit}`;
			record(`${key}.mps`, sustainedRate(accepted.map((a) => a.receivedAt)), ' accepted msg/s, sustained');
			record(`${key}.max_in_1s`, maxInOneSecond(accepted.map((a) => a.receivedAt)), ' accepted in the busiest second');
			record(`${key}.130429`, env.sandbox.counters.errorsByCode['130429'] ?? 0);
			record(
				`${key}.sandbox_stall_max_ms`,
				Math.round(stalls.max / 1e6),
				' ms, the sandbox’s longest event-loop stall',
			);
			// What Meta's window held when it answered 130429: how long the accepted requests before it took.
			const counted = env.sandbox.requests.filter((r) => r.errorCode === 130429 || r.messageId);
			for (const [i, r] of counted.entries()) {
				if (r.errorCode !== 130429) continue;
				const window = counted
					.slice(Math.max(0, i - 2 * limit), i)
					.filter((p) => p.messageId && r.receivedAt - p.receivedAt < 1000);
				if (window.length)
					console.log(
						`  130429: ${window.length} accepted over the ${r.receivedAt - window[0].receivedAt} ms before it`,
					);
			}
			record(`${key}.sent_twice`, [...perRecipient.values()].filter((n) => n > 1).length);
			record(`${key}.accepted`, `${accepted.length} of ${executions * contacts}`);
		};
		await run(80, 4, quick ? 600 : 3_000, 150);
		await run(1000, 2, quick ? 3_000 : 15_000, 20);
		notes.push(
			'`send.queue*`: real n8n 2.41.1 in queue mode on this one machine (PostgreSQL, Bull on Redis, main, two `n8n worker` processes at concurrency 5, one `n8n webhook` process), the package on the Redis store; at 80/s four campaign executions posted at once to the webhook process, at 1,000/s two; one phone number ID; the sandbox status webhooks off. `send.workers*` and `send.concurrent80`: the same senders run by n8n-core in plain processes (two processes × two executions, and one process × four).',
		);
	} finally {
		await env.close();
	}
}
