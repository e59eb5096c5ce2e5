/** Webhook dedupe marks in SQLite, table `webhook_seen` (the Redis half: ./redis.ts). */
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
		const insert = this.db.statement(
			'INSERT INTO webhook_seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_seen.expires_at <= ?',
		);
		return this.db.write(() => {
			if (++this.callsSincePrune >= PRUNE_EVERY) {
				this.callsSincePrune = 0;
				this.db.statement('DELETE FROM webhook_seen WHERE expires_at < ?').run(now);
			}
			return keys.map((key) => Number(insert.run(key, now + ttlMs, now).changes) > 0);
		});
	}
}
