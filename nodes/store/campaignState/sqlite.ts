/** Campaign counters and pauses in SQLite (the Redis half: ./redis.ts). */
import type { PauseScope, PauseState } from '../../core/types';
import type { SqliteDatabase } from '../sqlite/database';
import type { CampaignState } from '../types';

export class SqliteCampaignState implements CampaignState {
	private readonly db: SqliteDatabase;

	constructor(db: SqliteDatabase) {
		this.db = db;
	}

	async incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void> {
		const upsert = this.db.statement(
			'INSERT INTO campaign_counters (campaign, name, value) VALUES (?, ?, ?) ON CONFLICT (campaign, name) DO UPDATE SET value = value + excluded.value',
		);
		this.db.write(() => {
			for (const [name, delta] of Object.entries(deltas)) if (delta) upsert.run(campaignId, name, delta);
		});
	}

	async counters(campaignId: string): Promise<Record<string, number>> {
		const rows = this.db
			.statement('SELECT name, value FROM campaign_counters WHERE campaign = ?')
			.all(campaignId) as Array<{ name: string; value: number }>;
		return Object.fromEntries(rows.map((r) => [r.name, r.value]));
	}

	async setPause(state: PauseState): Promise<void> {
		return this.db.guard(() => {
			this.db
				.statement(
					'INSERT INTO pauses (scope, id, paused, reason, at, details) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason, at = excluded.at, details = excluded.details',
				)
				.run(
					state.scope,
					state.id,
					state.paused ? 1 : 0,
					state.reason ?? null,
					state.at,
					state.details ? JSON.stringify(state.details) : null,
				);
		});
	}

	async activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined> {
		const get = this.db.statement('SELECT * FROM pauses WHERE scope = ? AND id = ? AND paused = 1');
		for (const { scope, id } of scopes) {
			const row = get.get(scope, id) as Record<string, unknown> | undefined;
			if (row) return toPauseState(row);
		}
		return undefined;
	}

	async pauses(): Promise<PauseState[]> {
		return (this.db.statement('SELECT * FROM pauses ORDER BY at').all() as Array<Record<string, unknown>>).map(
			toPauseState,
		);
	}
}

function toPauseState(row: Record<string, unknown>): PauseState {
	const state: PauseState = {
		scope: row.scope as PauseScope,
		id: row.id as string,
		paused: row.paused === 1,
		at: Number(row.at),
	};
	if (row.reason !== null) state.reason = row.reason as string;
	if (row.details) state.details = JSON.parse(row.details as string);
	return state;
}
