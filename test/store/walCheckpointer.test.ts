import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { SqliteStore } from '../../nodes/store/SqliteStore';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startWalCheckpointer } from '../../nodes/store/sqlite/walCheckpointer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('checkpointing the SQLite log off the main thread', () => {
	let dir: string;
	beforeEach(() => {
		dir = mkdtempSync(path.join(tmpdir(), 'wac-wal-'));
	});
	afterEach(() => rmSync(dir, { recursive: true, force: true }));

	/** Rounds of committed writes with pauses between them; returns the log's size at the end. */
	async function writeRounds(db: DatabaseSync, rounds: number) {
		const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
		for (let round = 0; round < rounds; round++) {
			for (let i = 0; i < 300; i++) insert.run(`${round}:${i}:${'x'.repeat(500)}`);
			await sleep(400);
		}
		return statSync(`${db.location()}-wal`).size;
	}

	function openLog(file: string) {
		const db = new DatabaseSync(file);
		db.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
		// As the store sets it: SQLite's own checkpoint far away, so only the thread can keep the log short.
		db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
		return db;
	}

	test('the log is copied back between bursts of commits, so it stops growing', async () => {
		const without = openLog(path.join(dir, 'without.sqlite'));
		const grown = await writeRounds(without, 4);
		without.close();

		const file = path.join(dir, 'with.sqlite');
		const db = openLog(file);
		const checkpointer = startWalCheckpointer(file, 100);
		expect(checkpointer).toBeDefined();
		try {
			const kept = await writeRounds(db, 4);
			// Checkpointed between rounds, the log restarts from its beginning: about one round's size.
			expect(kept).toBeLessThan(grown / 2);
			expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1200 });
		} finally {
			await checkpointer!.stop();
			db.close();
		}
	});

	test('the store starts the thread, moves SQLite’s own checkpoint out of the way, and closes it with the store', async () => {
		const store = SqliteStore.open(path.join(dir, 'store.sqlite'));
		const probe = new DatabaseSync(path.join(dir, 'store.sqlite'));
		try {
			await store.campaigns.incrementCounters('c', { sent: 1 });
			// The store's own connection (SqliteStore → SqliteDatabase → DatabaseSync): the pragma is per connection.
			const db = (store as unknown as { db: { db: DatabaseSync } }).db.db;
			expect(db.prepare('PRAGMA wal_autocheckpoint').get()).toEqual({
				wal_autocheckpoint: BACKSTOP_AUTOCHECKPOINT_PAGES,
			});
		} finally {
			probe.close();
		}
		await store.close();
		// The last connection to close removes the log: so the thread's connection was closed too.
		expect(existsSync(path.join(dir, 'store.sqlite-wal'))).toBe(false);
	});
});
