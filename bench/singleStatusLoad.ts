/**
 * Meta's real webhook pattern: one status per signed POST. `perSecond` POSTs a second, open loop (a
 * slow receiver does not slow the sender, as Meta does not wait), for `seconds`: for each message its
 * `sent`, `delivered` and `read`, tagged with the campaign so that the Delivery Monitor counts them.
 * Latency from request to answer; a request unanswered after `timeoutMs` counts as no answer.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { callbackData } from '../nodes/core/callbackData';
import { benchSendKey, postSigned } from './statusLoad.ts';

export interface SingleStatusLoad {
	posted: number;
	/** Answers by HTTP status; `none` for requests that got no answer. */
	answers: Record<string, number>;
	percentile: (p: number) => number;
	/** CPU of `pid` over the load, in % of one core. */
	cpuPercent: number;
}

const STATUSES = ['sent', 'delivered', 'read'] as const;

/** utime + stime of a process in clock ticks (Linux /proc; 100 per second). */
function cpuTicks(pid: number): number {
	try {
		const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
		return Number(fields[11]) + Number(fields[12]);
	} catch {
		return NaN;
	}
}

export async function postSingleStatuses(options: {
	url: string;
	appSecret: string;
	campaign: string;
	perSecond: number;
	seconds: number;
	pid: number;
	phoneNumberId: string;
	timeoutMs?: number;
}): Promise<SingleStatusLoad> {
	const { url, appSecret, campaign, perSecond, seconds, pid, phoneNumberId } = options;
	const latencies: number[] = [];
	const answers: Record<string, number> = {};
	const count = (key: string) => (answers[key] = (answers[key] ?? 0) + 1);
	const started = Math.floor(Date.now() / 1000);

	const post = async (slot: number) => {
		const message = Math.floor(slot / STATUSES.length);
		const body = JSON.stringify({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: '102290129340398',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
								statuses: [
									{
										id: `wamid.single.${campaign}.${message}`,
										status: STATUSES[slot % STATUSES.length],
										timestamp: String(started + Math.floor(slot / perSecond)),
										recipient_id: `3361${String(message).padStart(8, '0')}`,
										biz_opaque_callback_data: callbackData(
											campaign,
											'A',
											benchSendKey(`3361${String(message).padStart(8, '0')}`),
										),
										pricing: { billable: true, pricing_model: 'PMP', category: 'marketing', type: 'regular' },
									},
								],
							},
						},
					],
				},
			],
		});
		const start = performance.now();
		count(String(await postSigned(url, body, appSecret, options.timeoutMs ?? 60_000)));
		latencies.push(performance.now() - start);
	};

	const total = perSecond * seconds;
	const posts: Array<Promise<void>> = [];
	const cpuBefore = cpuTicks(pid);
	const t0 = performance.now();
	for (let slot = 0; slot < total; slot++) {
		const wait = t0 + (slot * 1000) / perSecond - performance.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
		posts.push(post(slot));
	}
	await Promise.all(posts);
	const cpuPercent = (cpuTicks(pid) - cpuBefore) / ((performance.now() - t0) / 1000);
	latencies.sort((a, b) => a - b);
	return {
		posted: total,
		answers,
		cpuPercent,
		percentile: (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))],
	};
}
