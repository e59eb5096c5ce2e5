/** Webhook dedupe marks in Redis: `sn:<key>`, set only if absent, expiring by itself (SQLite: ./sqlite.ts). */
import { execPipeline, type RedisClient } from '../redis/client';
import type { WebhookDedupe } from '../types';

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
