/**
 * Webhook dedupe marks in Redis: `sn:<key>`, set only if absent, expiring by itself (SQLite: ./sqlite.ts).
 * `commit` also writes the campaign counters its facts justify (`ct:<campaign>`, campaignState/), in
 * the same script as their marks.
 */
import type { CountedFact } from '../../core/campaignCounters';
import { execPipeline, type RedisClient } from '../redis/client';
import type { WebhookDedupe } from '../types';

export const DEDUPE_SCRIPTS = {
	/** ARGV: prefix, ttl ms, JSON [[fact or false, [[campaign, {name: delta}]]]], JSON marks. */
	commitDelivery: `
local P, ttl = ARGV[1], tonumber(ARGV[2])
-- Counted facts first: a fact also listed in the marks must not be marked before it is counted.
for _, group in ipairs(cjson.decode(ARGV[3])) do
	local fact, counters = group[1], group[2]
	if not fact or redis.call('SET', P .. 'sn:' .. fact, '1', 'PX', ttl, 'NX') then
		for _, entry in ipairs(counters) do
			for name, delta in pairs(entry[2]) do
				if delta ~= 0 then redis.call('HINCRBY', P .. 'ct:' .. entry[1], name, delta) end
			end
		end
	end
end
for _, key in ipairs(cjson.decode(ARGV[4])) do redis.call('SET', P .. 'sn:' .. key, '1', 'PX', ttl, 'NX') end
return 1
`,
};

export class RedisWebhookDedupe implements WebhookDedupe {
	private readonly client: RedisClient;

	constructor(client: RedisClient) {
		this.client = client;
	}

	async seen(keys: string[]): Promise<boolean[]> {
		if (!keys.length) return [];
		return await this.client.run(async () => {
			const pipeline = this.client.pipeline();
			for (const key of keys) pipeline.exists(`${this.client.prefix}sn:${key}`);
			return (await execPipeline(pipeline)).map((n) => Number(n) > 0);
		});
	}

	async commit(marks: string[], counted: CountedFact[], ttlMs: number): Promise<void> {
		if (!marks.length && !counted.length) return;
		const groups = counted.map(({ fact, counters }) => [fact ?? false, counters]);
		await this.client.run((redis) =>
			redis.commitDelivery(
				this.client.prefix,
				Math.max(1, Math.round(ttlMs)),
				JSON.stringify(groups),
				JSON.stringify(marks),
			),
		);
	}

	async markSeen(keys: string[], ttlMs: number): Promise<boolean[]> {
		if (!keys.length) return [];
		return await this.client.run(async () => {
			const pipeline = this.client.pipeline();
			for (const key of keys)
				pipeline.set(`${this.client.prefix}sn:${key}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
			const results = await execPipeline(pipeline);
			return results.map((r) => r === 'OK');
		});
	}
}
