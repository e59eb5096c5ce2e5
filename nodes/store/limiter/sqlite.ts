/**
 * The throughput limiter in SQLite: core's gcraSlots over the `throughput` table and departureWait over
 * the `departures` table (Redis: ./redis.ts).
 */
import { departureWait, gcraSlots } from '../../core/throughput';
import type { SqliteDatabase } from '../sqlite/database';
import type { Departure, SendLimiter, SendSlots } from '../types';

export class SqliteSendLimiter implements SendLimiter {
	private readonly db: SqliteDatabase;

	constructor(db: SqliteDatabase) {
		this.db = db;
	}

	async acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots> {
		return this.db.write(() => {
			const now = Date.now();
			const row = this.db.statement('SELECT tat FROM throughput WHERE phone = ?').get(phoneNumberId) as
				{ tat: number } | undefined;
			const { waits, tat } = gcraSlots(row?.tat, now, ratePerSecond, count);
			this.db
				.statement(
					'INSERT INTO throughput (phone, tat) VALUES (?, ?) ON CONFLICT (phone) DO UPDATE SET tat = excluded.tat',
				)
				.run(phoneNumberId, tat);
			return { now, waits };
		});
	}

	async admitDeparture(phoneNumberId: string, limit: number, windowMs: number, replacing?: string): Promise<Departure> {
		return this.db.write(() => {
			const now = Date.now();
			if (replacing !== undefined)
				this.db.statement('DELETE FROM departures WHERE rowid = ? AND phone = ?').run(Number(replacing), phoneNumberId);
			this.db.statement('DELETE FROM departures WHERE phone = ? AND at <= ?').run(phoneNumberId, now - windowMs);
			const { n, oldest } = this.db
				.statement('SELECT COUNT(*) AS n, MIN(at) AS oldest FROM departures WHERE phone = ?')
				.get(phoneNumberId) as { n: number; oldest: number | null };
			const wait = departureWait(n, oldest ?? undefined, now, limit, windowMs);
			if (wait > 0) return { wait };
			const { lastInsertRowid } = this.db
				.statement('INSERT INTO departures (phone, at) VALUES (?, ?)')
				.run(phoneNumberId, now);
			return { wait, ticket: String(lastInsertRowid) };
		});
	}
}
