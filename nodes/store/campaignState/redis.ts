/**
 * Campaign counters and pauses in Redis (the SQLite half: ./sqlite.ts). `ct:<campaign>` a hash of
 * counters, `pz` a hash of pauses keyed `scope|id`.
 */
import type { PauseScope, PauseState } from '../../core/types';
import { execPipeline, type RedisClient } from '../redis/client';
import type { CampaignState } from '../types';

const pauseField = (scope: PauseScope, id: string) => `${scope}|${id}`;

export class RedisCampaignState implements CampaignState {
	private readonly client: RedisClient;

	constructor(client: RedisClient) {
		this.client = client;
	}

	async incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void> {
		const entries = Object.entries(deltas).filter(([, delta]) => delta);
		if (!entries.length) return;
		await this.client.run(async () => {
			const pipeline = this.client.pipeline();
			for (const [name, delta] of entries) pipeline.hincrby(`${this.client.prefix}ct:${campaignId}`, name, delta);
			await execPipeline(pipeline);
		});
	}

	async counters(campaignId: string): Promise<Record<string, number>> {
		const raw = await this.client.run((redis) => redis.hgetall(`${this.client.prefix}ct:${campaignId}`));
		return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, Number(value)]));
	}

	async setPause(state: PauseState): Promise<void> {
		await this.client.run((redis) =>
			redis.hset(`${this.client.prefix}pz`, pauseField(state.scope, state.id), JSON.stringify(state)),
		);
	}

	async activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined> {
		if (!scopes.length) return undefined;
		const values = await this.client.run((redis) =>
			redis.hmget(`${this.client.prefix}pz`, ...scopes.map((s) => pauseField(s.scope, s.id))),
		);
		for (const value of values) {
			if (!value) continue;
			const state = JSON.parse(value) as PauseState;
			if (state.paused) return state;
		}
		return undefined;
	}

	async pauses(): Promise<PauseState[]> {
		const all = await this.client.run((redis) => redis.hvals(`${this.client.prefix}pz`));
		return all.map((v) => JSON.parse(v) as PauseState).sort((a, b) => a.at - b.at);
	}
}
