/**
 * The embedded store's one SQLite connection (node:sqlite): opening and migrating the file, the
 * statement cache and write transactions. Each concern's SQLite half (ledger/sqlite.ts, …) runs its
 * statements through this.
 */
import { randomBytes } from 'node:crypto';
import {
	accessSync,
	constants,
	existsSync,
	linkSync,
	mkdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { DatabaseSync as DatabaseSyncType, StatementSync } from 'node:sqlite';

import { describeSystemError } from '../errors';
import { StoreUnavailableError } from '../types';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from './walCheckpointer';

/**
 * Bumped with every schema change; a file with a higher version is refused, not touched.
 * 1: the tables below. 2: the contact-key secret moved out of the file into a key file beside it (an
 * older package would otherwise create a new secret in the file and key everyone differently).
 */
export const SQLITE_SCHEMA_VERSION = 6;

/*
 * Schema version 1, as every existing store file has it: a migration to version 2 adds to this, never
 * edits it. Tables by concern: consent_events, suppressions, contact_facts (ledger/); send_log (caps/);
 * campaign_sends (sendLog/); campaign_counters, pauses (campaignState/); throughput (limiter/);
 * webhook_seen (dedupe/).
 */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS consent_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	contact TEXT NOT NULL,
	action TEXT NOT NULL,
	category TEXT NOT NULL,
	at INTEGER NOT NULL,
	source TEXT, wording TEXT, business_name TEXT, collected_by TEXT,
	recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_events_contact ON consent_events (contact, at);
CREATE TABLE IF NOT EXISTS suppressions (
	contact TEXT NOT NULL, category TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL,
	PRIMARY KEY (contact, category)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_facts (
	contact TEXT PRIMARY KEY,
	undeliverable_at INTEGER, hold_until INTEGER, last_interaction_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS send_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	phone TEXT NOT NULL, contact TEXT NOT NULL, category TEXT NOT NULL,
	at INTEGER NOT NULL,
	confirmed INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER
);
-- Random contact keys make every insert land on a different page of a contact-keyed index, and each
-- commit rewrites those pages: so one contact index only (a contact has a handful of rows to filter
-- by category or phone), a rowid that appends, and the phone index that appends by time.
CREATE INDEX IF NOT EXISTS send_log_contact ON send_log (contact, at, category, phone, confirmed, expires_at);
CREATE INDEX IF NOT EXISTS send_log_phone ON send_log (phone, at, confirmed, expires_at, contact);
CREATE TABLE IF NOT EXISTS campaign_sends (
	campaign TEXT NOT NULL, contact TEXT NOT NULL,
	state TEXT NOT NULL, message_id TEXT, at INTEGER NOT NULL, claim_expires_at INTEGER, owner TEXT,
	PRIMARY KEY (campaign, contact)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS campaign_sends_contact ON campaign_sends (contact, state, at);
CREATE TABLE IF NOT EXISTS campaign_counters (
	campaign TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
	PRIMARY KEY (campaign, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pauses (
	scope TEXT NOT NULL, id TEXT NOT NULL, paused INTEGER NOT NULL, reason TEXT, at INTEGER NOT NULL, details TEXT,
	PRIMARY KEY (scope, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throughput (phone TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_seen (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_seen_expiry ON webhook_seen (expires_at);
`;

/** Version 3: aliases (a BSUID's key → the contact it names). */
const SCHEMA_V3 = `
CREATE TABLE IF NOT EXISTS contact_aliases (alias TEXT PRIMARY KEY, contact TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_aliases_contact ON contact_aliases (contact);
`;

/**
 * Version 4: which process made a cap reservation, and each process's lease: the reservations of a
 * process whose lease lapsed (killed) stop holding contacts back (core/retention.ts, RESERVATION_LEASE_MS).
 */
const SCHEMA_V4 = `ALTER TABLE send_log ADD COLUMN owner TEXT;`;
const SCHEMA_V4_OWNERS = `CREATE TABLE IF NOT EXISTS cap_owners (owner TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;`;

/**
 * Version 5: what a reservation is estimated to cost (COST_UNITS), the spend day it counts toward and
 * its campaign, for Frequency Cap's spend budgets (core/frequencyCaps.ts). Rows without a spend budget
 * keep cost 0 and no campaign, so the campaign index stays small.
 */
const SCHEMA_V5 = `
ALTER TABLE send_log ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE send_log ADD COLUMN spend_day INTEGER;
ALTER TABLE send_log ADD COLUMN campaign TEXT;
`;
const SCHEMA_V5_INDEX = `CREATE INDEX IF NOT EXISTS send_log_campaign ON send_log (campaign) WHERE campaign IS NOT NULL;`;

/** Version 6: each number's departures in the last second, counted by every process (limiter/). */
const SCHEMA_V6 = `
CREATE TABLE IF NOT EXISTS departures (phone TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS departures_phone ON departures (phone, at);
`;

/** The n8n user folder's store file: `<N8N_USER_FOLDER or ~>/.n8n/whatsapp-compliance.sqlite`. */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env): string {
	if (env.WHATSAPP_COMPLIANCE_DB) return env.WHATSAPP_COMPLIANCE_DB;
	const userFolder = env.N8N_USER_FOLDER || env.HOME || require('node:os').homedir();
	return path.join(userFolder, '.n8n', 'whatsapp-compliance.sqlite');
}

function loadSqlite(): typeof import('node:sqlite') {
	try {
		return require('node:sqlite');
	} catch {
		throw new StoreUnavailableError(
			`The built-in store needs Node.js 24 (node:sqlite); this n8n runs Node.js ${process.version}`,
		);
	}
}

/** What is wrong with the folders on the way to `file`, in words, or undefined when they look fine. */
function pathProblem(file: string): string | undefined {
	let folder = path.dirname(path.resolve(file));
	while (!existsSync(folder) && path.dirname(folder) !== folder) folder = path.dirname(folder);
	try {
		if (!statSync(folder).isDirectory()) return `${folder} is a file, not a folder`;
		accessSync(folder, constants.W_OK);
		return undefined;
	} catch {
		return `n8n may not write in ${folder} (permission denied)`;
	}
}

/**
 * The contact-key secret lives in `<store file>.key` (owner-only), not in the database: a copy of the
 * data file alone cannot confirm which numbers it holds. The first process creates it atomically (write
 * a temporary file, then link it into place); the others read it. `seed` is a version-1 store's secret,
 * carried over so existing contact keys stay valid.
 */
function keyFileSecret(file: string, seed: Buffer | undefined, mustExist = false): Buffer {
	if (file === ':memory:') return seed ?? randomBytes(32);
	const keyFile = `${file}.key`;
	// A store that has had its key must never get a new one silently: everyone would be keyed anew and
	// every opt-out in it would stop matching.
	if (mustExist && !existsSync(keyFile))
		throw new StoreUnavailableError(
			`The contact-key file ${keyFile} is missing: restore it from the backup taken with the store file (without it the store cannot recognise anyone it holds)`,
		);
	if (!existsSync(keyFile)) {
		const temporary = `${keyFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
		writeFileSync(temporary, `${(seed ?? randomBytes(32)).toString('hex')}\n`, { mode: 0o600 });
		try {
			linkSync(temporary, keyFile);
		} catch (error) {
			// Another process made it first: its secret is the one.
			if ((error as { code?: string }).code !== 'EEXIST') throw error;
		} finally {
			rmSync(temporary, { force: true });
		}
	}
	const text = readFileSync(keyFile, 'utf8').trim();
	if (!/^[0-9a-f]{64}$/.test(text))
		throw new StoreUnavailableError(
			`The contact-key file ${keyFile} is not a key this package wrote: restore it from a backup`,
		);
	return Buffer.from(text, 'hex');
}

const BATCH = 500;

/** A long list in parts small enough for one `IN (…)`. */
export function chunks<T>(list: T[], size = BATCH): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}

export const placeholders = (n: number) => new Array(n).fill('?').join(',');

/** `'a', 'b'` for an SQL `IN (…)` built from one of core's lists. */
export const sqlList = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

export class SqliteDatabase {
	private readonly statements = new Map<string, StatementSync>();

	readonly file: string;
	/** The contact-key secret, created once by whichever process opened the file first. */
	readonly secret: Buffer;
	private readonly db: DatabaseSyncType;
	private readonly checkpointer: WalCheckpointer | undefined;

	private constructor(file: string, db: DatabaseSyncType, secret: Buffer, checkpointer: WalCheckpointer | undefined) {
		this.file = file;
		this.db = db;
		this.secret = secret;
		this.checkpointer = checkpointer;
	}

	static open(file: string): SqliteDatabase {
		const { DatabaseSync } = loadSqlite();
		let db: DatabaseSyncType | undefined;
		try {
			mkdirSync(path.dirname(file), { recursive: true });
			db = new DatabaseSync(file, { timeout: 10_000 });
			// A corrupted or foreign file fails here, before anything is written.
			const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
			if (version > SQLITE_SCHEMA_VERSION) {
				throw new StoreUnavailableError(
					`The compliance store ${file} was written by a newer version of n8n-nodes-whatsapp-compliance (schema ${version}, this version reads up to ${SQLITE_SCHEMA_VERSION}). Update the package; the file was not changed.`,
				);
			}
			db.exec(
				'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;',
			);
			let secret: Buffer;
			if (version < SQLITE_SCHEMA_VERSION) {
				db.exec('BEGIN IMMEDIATE');
				try {
					db.exec(SCHEMA_V1);
					db.exec(SCHEMA_V3);
					// ALTER TABLE has no IF NOT EXISTS: add the column only where it is missing.
					if (!db.prepare("SELECT 1 FROM pragma_table_info('send_log') WHERE name = 'owner'").get()) db.exec(SCHEMA_V4);
					db.exec(SCHEMA_V4_OWNERS);
					if (!db.prepare("SELECT 1 FROM pragma_table_info('send_log') WHERE name = 'cost'").get()) db.exec(SCHEMA_V5);
					db.exec(SCHEMA_V5_INDEX);
					db.exec(SCHEMA_V6);
					// Version 1 kept the secret in the file: move it to the key file, and overwrite it in the
					// database's pages as it is deleted (secure_delete), so a copy of the file no longer holds it.
					const old = db.prepare('SELECT value FROM meta WHERE key = ?').get('contact_key_secret') as
						{ value: string } | undefined;
					// From version 2 on the key file must already exist.
					secret = keyFileSecret(file, old ? Buffer.from(old.value, 'hex') : undefined, version >= 2);
					db.exec('PRAGMA secure_delete = ON');
					db.prepare('DELETE FROM meta WHERE key = ?').run('contact_key_secret');
					db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
					db.exec('COMMIT');
				} catch (error) {
					db.exec('ROLLBACK');
					throw error;
				}
			} else {
				secret = keyFileSecret(file, undefined, true);
			}
			// The log is checkpointed off the main thread; SQLite's own checkpoint stays only as a backstop.
			const checkpointer = file === ':memory:' ? undefined : startWalCheckpointer(file);
			if (checkpointer) db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
			return new SqliteDatabase(file, db, secret, checkpointer);
		} catch (error) {
			db?.close();
			if (error instanceof StoreUnavailableError) throw error;
			throw new StoreUnavailableError(
				`The compliance store ${file} could not be opened: ${pathProblem(file) ?? describeSystemError(error as Error)}`,
			);
		}
	}

	statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	/** A write transaction: BEGIN IMMEDIATE takes the write lock up front, so concurrent processes queue instead of deadlocking. */
	write<T>(work: () => T): T {
		return this.guard(() => {
			this.db.exec('BEGIN IMMEDIATE');
			try {
				const result = work();
				this.db.exec('COMMIT');
				return result;
			} catch (error) {
				if (this.db.isTransaction) this.db.exec('ROLLBACK');
				throw error;
			}
		});
	}

	/**
	 * Runs statements outside a transaction; a failure (the file locked by another process beyond the
	 * timeout, a full disk) becomes a StoreUnavailableError naming the file, which stops sending.
	 */
	guard<T>(work: () => T): T {
		try {
			return work();
		} catch (error) {
			if (error instanceof StoreUnavailableError) throw error;
			throw new StoreUnavailableError(
				`The compliance store ${this.file} failed: ${describeSystemError(error as Error)}`,
			);
		}
	}

	async close(): Promise<void> {
		this.statements.clear();
		await this.checkpointer?.stop();
		if (this.db.isOpen) this.db.close();
	}
}
