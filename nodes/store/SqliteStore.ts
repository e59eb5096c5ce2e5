import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync as DatabaseSyncType, StatementSync } from 'node:sqlite';

import { DAY_MS, decideCap, HOUR_MS } from '../core/frequencyCaps';
import { contactKeyer, deriveContactState, expandScope, gcraSlots } from './shared';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from './walCheckpointer';
import {
	StoreUnavailableError,
	type CapDecision,
	type CapRequest,
	type ClaimResult,
	type ComplianceStore,
	type ConsentEvent,
	type ConsentEventInput,
	type ConsentScope,
	type ContactState,
	type PauseScope,
	type PauseState,
	type SendState,
	type SendSlots,
	type Suppression,
	type SuppressionReason,
} from './types';

/** Bumped with every schema change; a file with a higher version is refused, not touched. */
export const SQLITE_SCHEMA_VERSION = 1;

/** Entries this old can no longer count towards any cap. */
const SEND_LOG_RETENTION_MS = 35 * DAY_MS;
/** Expired reservations are kept a while so a late confirmation still finds them. */
const EXPIRED_RESERVATION_GRACE_MS = DAY_MS;
const BATCH = 500;

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

function chunks<T>(list: T[], size = BATCH): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}

const placeholders = (n: number) => new Array(n).fill('?').join(',');

export class SqliteStore implements ComplianceStore {
	readonly kind = 'sqlite' as const;
	readonly location: string;
	private readonly db: DatabaseSyncType;
	private readonly keyContact: (e164: string) => string;
	private readonly statements = new Map<string, StatementSync>();
	private writesSincePrune = 0;
	private readonly checkpointer?: WalCheckpointer;

	private constructor(file: string, db: DatabaseSyncType, secret: Buffer) {
		this.location = file;
		this.db = db;
		this.keyContact = contactKeyer(secret);
		// The log is checkpointed off the main thread; SQLite's own checkpoint stays only as a backstop.
		this.checkpointer = file === ':memory:' ? undefined : startWalCheckpointer(file);
		if (this.checkpointer) db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
	}

	static open(file: string = defaultSqlitePath()): SqliteStore {
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
			if (version < SQLITE_SCHEMA_VERSION) {
				db.exec('BEGIN IMMEDIATE');
				try {
					db.exec(SCHEMA_V1);
					db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION}`);
					db.exec('COMMIT');
				} catch (error) {
					db.exec('ROLLBACK');
					throw error;
				}
			}
			// The contact-key secret is created once, by whichever process gets there first.
			db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(
				'contact_key_secret',
				randomBytes(32).toString('hex'),
			);
			const secret = (db.prepare('SELECT value FROM meta WHERE key = ?').get('contact_key_secret') as { value: string })
				.value;
			return new SqliteStore(file, db, Buffer.from(secret, 'hex'));
		} catch (error) {
			db?.close();
			if (error instanceof StoreUnavailableError) throw error;
			throw new StoreUnavailableError(`The compliance store ${file} could not be opened: ${(error as Error).message}`);
		}
	}

	private statement(sql: string): StatementSync {
		let statement = this.statements.get(sql);
		if (!statement) {
			statement = this.db.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}

	/** A write transaction: BEGIN IMMEDIATE takes the write lock up front, so concurrent processes queue instead of deadlocking. */
	private write<T>(work: () => T): T {
		this.db.exec('BEGIN IMMEDIATE');
		try {
			const result = work();
			this.db.exec('COMMIT');
			return result;
		} catch (error) {
			this.db.exec('ROLLBACK');
			throw error;
		}
	}

	contactKey(e164: string): string {
		return this.keyContact(e164);
	}

	// ---- consent ----

	async recordConsent(events: ConsentEventInput[]): Promise<void> {
		const recordedAt = Date.now();
		const insert = this.statement(
			'INSERT INTO consent_events (contact, action, category, at, source, wording, business_name, collected_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
		);
		const suppress = this.statement(
			'INSERT INTO suppressions (contact, category, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT (contact, category) DO UPDATE SET reason = excluded.reason, at = excluded.at WHERE excluded.at >= suppressions.at',
		);
		const lift = this.statement(
			"DELETE FROM suppressions WHERE contact = ? AND category = ? AND reason IN ('OPTED_OUT', 'IMPORTED') AND at <= ?",
		);
		this.write(() => {
			for (const event of events) {
				for (const category of event.categories) {
					insert.run(
						event.contactKey,
						event.action,
						category,
						event.at,
						event.source ?? null,
						event.wording ?? null,
						event.businessName ?? null,
						event.collectedBy ?? null,
						recordedAt,
					);
					for (const each of expandScope(category)) {
						if (event.action === 'opt_out') suppress.run(event.contactKey, each, 'OPTED_OUT', event.at);
						else lift.run(event.contactKey, each, event.at);
					}
				}
			}
		});
	}

	async consentHistory(contactKey: string): Promise<ConsentEvent[]> {
		const rows = this.statement('SELECT * FROM consent_events WHERE contact = ? ORDER BY at, id').all(
			contactKey,
		) as Array<Record<string, unknown>>;
		return rows.map(toConsentEvent);
	}

	async suppress(
		entries: Array<{ contactKey: string; category: ConsentScope; reason: SuppressionReason; at: number }>,
	): Promise<void> {
		const upsert = this.statement(
			'INSERT INTO suppressions (contact, category, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT (contact, category) DO UPDATE SET reason = excluded.reason, at = excluded.at WHERE excluded.at >= suppressions.at',
		);
		this.write(() => {
			for (const entry of entries)
				for (const category of expandScope(entry.category))
					upsert.run(entry.contactKey, category, entry.reason, entry.at);
		});
	}

	async liftSuppressions(
		entries: Array<{ contactKey: string; category: ConsentScope; reasons: SuppressionReason[] }>,
	): Promise<void> {
		this.write(() => {
			for (const entry of entries) {
				for (const category of expandScope(entry.category)) {
					for (const reason of entry.reasons)
						this.statement('DELETE FROM suppressions WHERE contact = ? AND category = ? AND reason = ?').run(
							entry.contactKey,
							category,
							reason,
						);
				}
			}
		});
	}

	async forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }> {
		return this.write(() => {
			const { changes } = this.statement('DELETE FROM consent_events WHERE contact = ?').run(contactKey);
			this.statement('DELETE FROM contact_facts WHERE contact = ?').run(contactKey);
			const keep = this.statement(
				'INSERT OR IGNORE INTO suppressions (contact, category, reason, at) VALUES (?, ?, ?, ?)',
			);
			for (const category of expandScope('all')) keep.run(contactKey, category, 'FORGOTTEN', at);
			return { eventsDeleted: Number(changes) };
		});
	}

	private fact(column: 'undeliverable_at' | 'hold_until' | 'last_interaction_at', contactKey: string, value: number) {
		// Later facts win; an earlier one arriving late (webhook retries) changes nothing.
		this.statement(
			`INSERT INTO contact_facts (contact, ${column}) VALUES (?, ?) ON CONFLICT (contact) DO UPDATE SET ${column} = MAX(COALESCE(${column}, 0), excluded.${column})`,
		).run(contactKey, value);
	}

	async markUndeliverable(contactKey: string, at: number): Promise<void> {
		this.fact('undeliverable_at', contactKey, at);
	}

	async holdContact(contactKey: string, until: number): Promise<void> {
		this.fact('hold_until', contactKey, until);
	}

	async recordInteraction(contactKey: string, at: number): Promise<void> {
		this.fact('last_interaction_at', contactKey, at);
	}

	async contactStates(contactKeys: string[]): Promise<Map<string, ContactState>> {
		const unique = [...new Set(contactKeys)];
		const events = new Map<string, ConsentEvent[]>();
		const suppressions = new Map<string, Suppression[]>();
		const facts = new Map<string, Record<string, number | null>>();
		for (const part of chunks(unique)) {
			const list = placeholders(part.length);
			for (const row of this.statement(`SELECT * FROM consent_events WHERE contact IN (${list})`).all(...part) as Array<
				Record<string, unknown>
			>) {
				const contact = row.contact as string;
				if (!events.has(contact)) events.set(contact, []);
				events.get(contact)!.push(toConsentEvent(row));
			}
			for (const row of this.statement(
				`SELECT contact, category, reason, at FROM suppressions WHERE contact IN (${list})`,
			).all(...part) as Array<Record<string, unknown>>) {
				const contact = row.contact as string;
				if (!suppressions.has(contact)) suppressions.set(contact, []);
				suppressions.get(contact)!.push({
					category: row.category as ConsentScope,
					reason: row.reason as SuppressionReason,
					at: row.at as number,
				});
			}
			for (const row of this.statement(`SELECT * FROM contact_facts WHERE contact IN (${list})`).all(...part) as Array<
				Record<string, number | null>
			>) {
				facts.set(row.contact as unknown as string, row);
			}
		}
		const states = new Map<string, ContactState>();
		for (const contact of unique) {
			const fact = facts.get(contact);
			states.set(
				contact,
				deriveContactState(events.get(contact) ?? [], suppressions.get(contact) ?? [], {
					undeliverableAt: fact?.undeliverable_at ?? undefined,
					holdUntil: fact?.hold_until ?? undefined,
					lastInteractionAt: fact?.last_interaction_at ?? undefined,
				}),
			);
		}
		return states;
	}

	// ---- frequency caps ----

	async reserve(requests: CapRequest[], now: number): Promise<CapDecision[]> {
		const LIVE = '(confirmed = 1 OR expires_at > ?)';
		const contactTimes = this.statement(
			`SELECT at FROM send_log INDEXED BY send_log_contact WHERE contact = ? AND category = ? AND at > ? AND ${LIVE} ORDER BY at`,
		);
		const holdOf = this.statement('SELECT hold_until FROM contact_facts WHERE contact = ?');
		const phoneCount = this.statement(`SELECT COUNT(*) AS n FROM send_log WHERE phone = ? AND at > ? AND ${LIVE}`);
		const phoneNth = this.statement(
			`SELECT at FROM send_log WHERE phone = ? AND at > ? AND ${LIVE} ORDER BY at DESC LIMIT 1 OFFSET ?`,
		);
		const uniqueCount = this.statement(
			`SELECT COUNT(DISTINCT contact) AS n FROM send_log WHERE phone = ? AND at > ? AND ${LIVE}`,
		);
		const reached = this.statement(
			`SELECT 1 FROM send_log INDEXED BY send_log_contact WHERE contact = ? AND phone = ? AND at > ? AND ${LIVE} LIMIT 1`,
		);
		const earliestUnique = this.statement(
			`SELECT MIN(latest) AS t FROM (SELECT MAX(at) AS latest FROM send_log WHERE phone = ? AND at > ? AND ${LIVE} GROUP BY contact)`,
		);
		const insert = this.statement(
			'INSERT INTO send_log (phone, contact, category, at, confirmed, expires_at) VALUES (?, ?, ?, ?, 0, ?)',
		);
		const since24h = now - DAY_MS;

		return this.write(() => {
			// Phone-wide counts are read once per batch and kept current as the batch reserves: the write
			// lock is held throughout, so nobody else can change them meanwhile. SQLite counts; only the
			// time a slot frees up is looked up, and only when a budget is full.
			const phones = new Map<string, { hour: number; day: number; unique: number }>();
			const phoneFacts = (phone: string) => {
				let facts = phones.get(phone);
				if (!facts) {
					facts = {
						hour: (phoneCount.get(phone, now - HOUR_MS, now) as { n: number }).n,
						day: (phoneCount.get(phone, since24h, now) as { n: number }).n,
						unique: (uniqueCount.get(phone, since24h, now) as { n: number }).n,
					};
					phones.set(phone, facts);
				}
				return facts;
			};

			const decisions = requests.map((request) => {
				const window = Math.max(request.rule?.windowMs ?? 0, request.rule?.minGapMs ?? 0);
				const budgets = request.budgets ?? {};
				const phone = request.phoneNumberId;
				const usesPhone =
					budgets.messagesPerHour !== undefined ||
					budgets.messagesPerDay !== undefined ||
					budgets.uniqueContactsPer24h !== undefined;
				const counts = usesPhone ? phoneFacts(phone) : { hour: 0, day: 0, unique: 0 };
				const alreadyReached =
					budgets.uniqueContactsPer24h !== undefined &&
					reached.get(request.contactKey, phone, since24h, now) !== undefined;
				const hold = holdOf.get(request.contactKey) as { hold_until: number | null } | undefined;
				const decision = decideCap(
					request,
					{
						contactTimes: request.rule
							? (
									contactTimes.all(request.contactKey, request.category, now - window, now) as Array<{ at: number }>
								).map((r) => r.at)
							: [],
						holdUntil: hold?.hold_until ?? undefined,
						phoneLastHour: counts.hour,
						phoneLast24h: counts.day,
						phoneNthLatest: (n) => (phoneNth.get(phone, since24h, now, n - 1) as { at: number }).at,
						uniqueReached: counts.unique,
						contactAlreadyReached: alreadyReached,
						earliestUniqueExpiry: () => (earliestUnique.get(phone, since24h, now) as { t: number }).t + DAY_MS,
					},
					now,
				);
				if (!decision.allowed || request.dryRun) return decision;
				const cached = phones.get(phone);
				// Asked before the insert, which would otherwise find itself.
				const wasReached =
					budgets.uniqueContactsPer24h !== undefined
						? alreadyReached
						: cached !== undefined && reached.get(request.contactKey, phone, since24h, now) !== undefined;
				const reservationId = `r${insert.run(phone, request.contactKey, request.category, now, now + request.reservationTtlMs).lastInsertRowid}`;
				if (cached) {
					cached.hour++;
					cached.day++;
					if (!wasReached) cached.unique++;
				}
				return { allowed: true as const, reservationId };
			});
			this.pruneNow(now);
			return decisions;
		});
	}

	async confirmReservation(reservationId: string, at: number): Promise<boolean> {
		const id = reservationRowId(reservationId);
		if (id === undefined) return false;
		const confirm = this.statement('UPDATE send_log SET confirmed = 1, at = ?, expires_at = NULL WHERE id = ?');
		return Number(confirm.run(at, id).changes) > 0;
	}

	async releaseReservation(reservationId: string): Promise<boolean> {
		const id = reservationRowId(reservationId);
		if (id === undefined) return false;
		return Number(this.statement('DELETE FROM send_log WHERE id = ? AND confirmed = 0').run(id).changes) > 0;
	}

	/** Old sends and long-expired reservations, every few hundred batches. */
	private pruneNow(now: number) {
		if (++this.writesSincePrune < 200) return;
		this.writesSincePrune = 0;
		this.statement('DELETE FROM send_log WHERE at < ? OR (confirmed = 0 AND expires_at < ?)').run(
			now - SEND_LOG_RETENTION_MS,
			now - EXPIRED_RESERVATION_GRACE_MS,
		);
		this.statement('DELETE FROM webhook_seen WHERE expires_at < ?').run(Date.now());
	}

	// ---- idempotency ----

	async claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
		as: 'claimed' | 'sending' = 'claimed',
	): Promise<ClaimResult> {
		return this.write(() => {
			const row = this.statement(
				'SELECT state, message_id, at, claim_expires_at, owner FROM campaign_sends WHERE campaign = ? AND contact = ?',
			).get(campaignId, contactKey) as
				| {
						state: string;
						message_id: string | null;
						at: number;
						claim_expires_at: number | null;
						owner: string | null;
				  }
				| undefined;
			if (row?.state === 'sent') return { state: 'sent', messageId: row.message_id ?? undefined, at: row.at };
			// Its own claim (a retry) the owner takes again; another's request on the wire it leaves alone.
			if (row?.state === 'sending' && row.owner !== owner && (row.claim_expires_at ?? 0) > now)
				return { state: 'in_flight', at: row.at };
			this.statement(
				'INSERT INTO campaign_sends (campaign, contact, state, at, claim_expires_at, owner) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, contact) DO UPDATE SET state = excluded.state, at = excluded.at, claim_expires_at = excluded.claim_expires_at, owner = excluded.owner',
			).run(campaignId, contactKey, as, now, now + claimTtlMs, owner);
			return { state: 'claimed' };
		});
	}

	async sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>> {
		const states = new Map<string, SendState>();
		for (const chunk of chunks(contactKeys)) {
			const rows = this.statement(
				`SELECT contact, state, message_id, at, claim_expires_at FROM campaign_sends WHERE campaign = ? AND contact IN (${placeholders(chunk.length)}) AND state IN ('sent', 'sending')`,
			).all(campaignId, ...chunk) as Array<{
				contact: string;
				state: string;
				message_id: string | null;
				at: number;
				claim_expires_at: number | null;
			}>;
			for (const row of rows) {
				if (row.state === 'sent')
					states.set(row.contact, { state: 'sent', messageId: row.message_id ?? undefined, at: row.at });
				else if ((row.claim_expires_at ?? 0) > now) states.set(row.contact, { state: 'in_flight', at: row.at });
			}
		}
		return states;
	}

	async startSend(
		campaignId: string,
		contactKey: string,
		owner: string,
		now: number,
		claimTtlMs: number,
	): Promise<boolean> {
		const { changes } = this.statement(
			"UPDATE campaign_sends SET state = 'sending', at = ?, claim_expires_at = ? WHERE campaign = ? AND contact = ? AND state = 'claimed' AND owner = ?",
		).run(now, now + claimTtlMs, campaignId, contactKey, owner);
		return Number(changes) > 0;
	}

	async completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void> {
		this.statement(
			"INSERT INTO campaign_sends (campaign, contact, state, message_id, at) VALUES (?, ?, 'sent', ?, ?) ON CONFLICT (campaign, contact) DO UPDATE SET state = 'sent', message_id = excluded.message_id, at = excluded.at, claim_expires_at = NULL",
		).run(campaignId, contactKey, messageId, at);
	}

	async lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined> {
		const row = this.statement(
			"SELECT campaign, message_id, at FROM campaign_sends WHERE contact = ? AND state = 'sent' ORDER BY at DESC LIMIT 1",
		).get(contactKey) as { campaign: string; message_id: string | null; at: number } | undefined;
		return row ? { campaignId: row.campaign, messageId: row.message_id ?? undefined, at: row.at } : undefined;
	}

	async releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void> {
		this.statement(
			"DELETE FROM campaign_sends WHERE campaign = ? AND contact = ? AND state IN ('claimed', 'sending') AND owner = ?",
		).run(campaignId, contactKey, owner);
	}

	// ---- campaign state ----

	async incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void> {
		const upsert = this.statement(
			'INSERT INTO campaign_counters (campaign, name, value) VALUES (?, ?, ?) ON CONFLICT (campaign, name) DO UPDATE SET value = value + excluded.value',
		);
		this.write(() => {
			for (const [name, delta] of Object.entries(deltas)) if (delta) upsert.run(campaignId, name, delta);
		});
	}

	async counters(campaignId: string): Promise<Record<string, number>> {
		const rows = this.statement('SELECT name, value FROM campaign_counters WHERE campaign = ?').all(
			campaignId,
		) as Array<{ name: string; value: number }>;
		return Object.fromEntries(rows.map((r) => [r.name, r.value]));
	}

	async setPause(state: PauseState): Promise<void> {
		this.statement(
			'INSERT INTO pauses (scope, id, paused, reason, at, details) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason, at = excluded.at, details = excluded.details',
		).run(
			state.scope,
			state.id,
			state.paused ? 1 : 0,
			state.reason ?? null,
			state.at,
			state.details ? JSON.stringify(state.details) : null,
		);
	}

	async activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined> {
		const get = this.statement('SELECT * FROM pauses WHERE scope = ? AND id = ? AND paused = 1');
		for (const { scope, id } of scopes) {
			const row = get.get(scope, id) as Record<string, unknown> | undefined;
			if (row) return toPauseState(row);
		}
		return undefined;
	}

	async pauses(): Promise<PauseState[]> {
		return (this.statement('SELECT * FROM pauses ORDER BY at').all() as Array<Record<string, unknown>>).map(
			toPauseState,
		);
	}

	// ---- throughput limiter ----

	async acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots> {
		return this.write(() => {
			const now = Date.now();
			const row = this.statement('SELECT tat FROM throughput WHERE phone = ?').get(phoneNumberId) as
				{ tat: number } | undefined;
			const { waits, tat } = gcraSlots(row?.tat, now, ratePerSecond, count);
			this.statement(
				'INSERT INTO throughput (phone, tat) VALUES (?, ?) ON CONFLICT (phone) DO UPDATE SET tat = excluded.tat',
			).run(phoneNumberId, tat);
			return { now, waits };
		});
	}

	// ---- webhook dedupe ----

	async markSeen(keys: string[], ttlMs: number): Promise<boolean[]> {
		const now = Date.now();
		const insert = this.statement(
			'INSERT INTO webhook_seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_seen.expires_at <= ?',
		);
		return this.write(() => keys.map((key) => Number(insert.run(key, now + ttlMs, now).changes) > 0));
	}

	async close(): Promise<void> {
		this.statements.clear();
		await this.checkpointer?.stop();
		if (this.db.isOpen) this.db.close();
	}
}

/** Reservation ids are `r<rowid>`; anything else (say, an id from a Redis store) matches nothing. */
function reservationRowId(reservationId: string): number | undefined {
	const match = /^r(\d+)$/.exec(reservationId);
	return match ? Number(match[1]) : undefined;
}

function toConsentEvent(row: Record<string, unknown>): ConsentEvent {
	const event: ConsentEvent = {
		id: Number(row.id),
		contactKey: row.contact as string,
		action: row.action as 'opt_in' | 'opt_out',
		category: row.category as ConsentScope,
		at: Number(row.at),
		recordedAt: Number(row.recorded_at),
	};
	if (row.source !== null) event.source = row.source as string;
	if (row.wording !== null) event.wording = row.wording as string;
	if (row.business_name !== null) event.businessName = row.business_name as string;
	if (row.collected_by !== null) event.collectedBy = row.collected_by as string;
	return event;
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
