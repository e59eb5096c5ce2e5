/**
 * A steady load of Meta status webhooks: signed POSTs of 50 `delivered` statuses, 20 per second (1,000
 * updates/s), for `seconds`, each tagged with the campaign so the Delivery Monitor counts them.
 */
import { createHash, createHmac } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { callbackData } from '../nodes/core/callbackData';

export async function postStatusLoad(
	url: string,
	appSecret: string,
	seconds: number,
	campaign: string,
	phoneNumberId = 'p',
) {
	const latencies: number[] = [];
	let failures = 0;
	let sent = 0;
	const post = async (batch: number) => {
		const statuses = Array.from({ length: 50 }, (_, i) => ({
			id: `wamid.bench.${campaign}.${batch}.${i}`,
			status: 'delivered',
			timestamp: String(Math.floor(Date.now() / 1000)),
			recipient_id: `3360${String(batch * 50 + i).padStart(7, '0')}`,
			biz_opaque_callback_data: callbackData(
				campaign,
				'A',
				benchSendKey(`3360${String(batch * 50 + i).padStart(7, '0')}`),
			),
		}));
		const body = JSON.stringify({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'w',
					changes: [
						{
							field: 'messages',
							value: { messaging_product: 'whatsapp', metadata: { phone_number_id: phoneNumberId }, statuses },
						},
					],
				},
			],
		});
		const start = performance.now();
		if ((await postSigned(url, body, appSecret)) !== 200) failures++;
		latencies.push(performance.now() - start);
		sent += 50;
	};
	const posts: Array<Promise<void>> = [];
	const started = performance.now();
	for (let batch = 0; batch < seconds * 20; batch++) {
		const wait = started + batch * 50 - performance.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
		posts.push(post(batch));
	}
	await Promise.all(posts);
	latencies.sort((a, b) => a - b);
	return {
		sent,
		failures,
		percentile: (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))],
	};
}

/** POSTs a body signed as Meta signs it; the HTTP status, or 'none' when no answer came in `timeoutMs`. */
export async function postSigned(url: string, body: string, appSecret: string, timeoutMs = 300_000) {
	const signature = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
	try {
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
			body,
			signal: AbortSignal.timeout(timeoutMs),
		});
		await response.arrayBuffer();
		return response.status;
	} catch {
		return 'none' as const;
	}
}

/** Stands for the contact key Template Send would have tagged the send with (a 64-hex keyed hash). */
export const benchSendKey = (recipient: string) => createHash('sha256').update(recipient).digest('hex');
