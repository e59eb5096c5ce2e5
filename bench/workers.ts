/**
 * Several workers sending from one phone number ID: `workers` processes, each running
 * `executionsPerWorker` Template Send executions at once (as n8n queue-mode workers at concurrency >1
 * run their jobs), all on one Redis store and one sandbox in its own process. What Meta would see:
 * the sustained rate, the most messages accepted in any 1 s, 130429s answered, and recipients sent
 * twice. Real n8n in queue mode is not started here: the workers are n8n-core in plain processes.
 */
import { runTs } from '../test/helpers/childProcess';
import { sustainedRate } from './sustained.ts';

export interface WorkersRun {
	sustained: number;
	maxInOneSecond: number;
	throttled: number;
	sentTwice: number;
	accepted: number;
	items: { sent: number; failed: number; notSent: number; runsFailed: number };
	/** The first failed or not-sent item's outcome, or the first failed run's error. */
	firstProblem?: unknown;
}

/** The most acceptances within any window of 1 s. */
export function maxInOneSecond(times: number[]): number {
	const sorted = [...times].sort((a, b) => a - b);
	let max = 0;
	for (let start = 0, end = 0; end < sorted.length; end++) {
		while (sorted[end] - sorted[start] >= 1_000) start++;
		max = Math.max(max, end - start + 1);
	}
	return max;
}

export async function runWorkers(options: {
	baseUrl: string;
	redis: { host: string; port: number; prefix: string; contactKeySecret: string };
	rate: number;
	workers: number;
	executionsPerWorker: number;
	contactsPerExecution: number;
	/** Distinguishes this run's recipients and campaigns from earlier ones. */
	tag: string;
	numberBase: number;
}): Promise<WorkersRun> {
	const startAt = Date.now() + 4_000;
	let next = options.numberBase;
	const children = Array.from({ length: options.workers }, (_, w) => {
		const executions = Array.from({ length: options.executionsPerWorker }, (_, e) => ({
			campaignId: `${options.tag}-w${w}-e${e}`,
			// Numbers +3366<first…first+count-1>, 7 digits (the environment cannot carry 15,000 numbers).
			first: (next += options.contactsPerExecution) - options.contactsPerExecution,
			count: options.contactsPerExecution,
		}));
		return runTs<
			Array<{ status: string; error?: string; sent: number; failed: number; notSent: number; firstProblem?: unknown }>
		>('bench/workerProcess.ts', [], {
			WORKER_SPEC: JSON.stringify({
				baseUrl: options.baseUrl,
				redis: options.redis,
				rate: options.rate,
				startAt,
				executions,
			}),
		});
	});
	const runs = (await Promise.all(children)).flat();
	const state = (await (await fetch(`${options.baseUrl}/_sandbox/counters`)).json()) as {
		throttled: number;
		accepted: Array<{ to: string; receivedAt: number }>;
	};
	const mine = state.accepted.filter((a) => a.receivedAt >= startAt - 1_000);
	const byRecipient = new Map<string, number>();
	for (const a of mine) byRecipient.set(a.to, (byRecipient.get(a.to) ?? 0) + 1);
	return {
		sustained: sustainedRate(mine.map((a) => a.receivedAt)),
		maxInOneSecond: maxInOneSecond(mine.map((a) => a.receivedAt)),
		throttled: state.throttled,
		sentTwice: [...byRecipient.values()].filter((n) => n > 1).length,
		accepted: mine.length,
		firstProblem: runs.find((r) => r.firstProblem ?? r.error)?.firstProblem ?? runs.find((r) => r.error)?.error,
		items: {
			sent: runs.reduce((s, r) => s + r.sent, 0),
			failed: runs.reduce((s, r) => s + r.failed, 0),
			notSent: runs.reduce((s, r) => s + r.notSent, 0),
			runsFailed: runs.filter((r) => r.status !== 'success').length,
		},
	};
}
