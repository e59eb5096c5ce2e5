/**
 * Webhook dedupe marks in SQLite, table `webhook_seen` (the Redis half: ./redis.ts). `commit` also
 * writes the campaign counters its facts justify (`campaign_counters`, campaignState/), in the same
 * transaction as their marks.
 */
import type { CountedFact } from '../../core/campaignCounters';
import type { SqliteDatabase } from '../sqlite/database';
import type { WebhookDedupe } from '../types';

/** Expired marks are deleted once every this many calls (an expired mark is simply overwritten meanwhile). */
const PRUNE_EVERY = 200;

export class SqliteWebhookDedupe implements WebhookDedupe {
	private callsSincePrune = 0;

	private readonly db: SqliteDatabase;

	constructor(db: SqliteDatabase) {
		this.db = db;
	}

	async seen(keys: string[]): Promise<boolean[]> {
		const now = Date.now();
		const get = this.db.statement('SELECT 1 FROM webhook_seen WHERE key = ? AND expires_at > ?');
		return keys.map((key) => get.get(key, now) !== undefined);
	}

	async markSeen(keys: string[], ttlMs: number): Promise<boolean[]> {
		const now = Date.now();
		return this.db.write(() => keys.map(this.marker(now, ttlMs)));
	}

	async commit(marks: string[], counted: CountedFact[], ttlMs: number): Promise<void> {
		const now = Date.now();
		const upsert = this.db.statement(
			'INSERT INTO campaign_counters (campaign, name, value) VALUES (?, ?, ?) ON CONFLICT (campaign, name) DO UPDATE SET value = value + excluded.value',
		);
		this.db.write(() => {
			const mark = this.marker(now, ttlMs);
			// Counted facts first: a fact also listed in `marks` must not be marked before it is counted.
			for (const { fact, counters } of counted) {
				if (fact !== undefined && !mark(fact)) continue;
				for (const [campaignId, deltas] of counters)
					for (const [name, delta] of Object.entries(deltas)) if (delta) upsert.run(campaignId, name, delta);
			}
			marks.forEach(mark);
		});
	}

	/** Marks a key inside the caller's transaction: true when it was not marked (or its mark had expired). */
	private marker(now: number, ttlMs: number): (key: string) => boolean {
		const insert = this.db.statement(
			'INSERT INTO webhook_seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_seen.expires_at <= ?',
		);
		if (++this.callsSincePrune >= PRUNE_EVERY) {
			this.callsSincePrune = 0;
			this.db.statement('DELETE FROM webhook_seen WHERE expires_at < ?').run(now);
		}
		return (key) => Number(insert.run(key, now + ttlMs, now).changes) > 0;
	}
}
