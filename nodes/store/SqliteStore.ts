/** The embedded store: one SQLite file (node:sqlite), offered by concern. The default backend. */
import { randomUUID } from 'node:crypto';

import { SqliteCampaignState } from './campaignState/sqlite';
import { SqliteFrequencyCaps } from './caps/sqlite';
import { contactKeyer } from './contactKeys';
import { SqliteWebhookDedupe } from './dedupe/sqlite';
import { KnownLinks } from './identities/knownLinks';
import { SqliteContactIdentities } from './identities/sqlite';
import { SqliteConsentLedger, SqliteContactFacts } from './ledger/sqlite';
import { SqliteSendLimiter } from './limiter/sqlite';
import { SqliteSendLog } from './sendLog/sqlite';
import { defaultSqlitePath, SqliteDatabase } from './sqlite/database';
import type { ComplianceStore } from './types';

export { defaultSqlitePath, SQLITE_SCHEMA_VERSION } from './sqlite/database';

export class SqliteStore implements ComplianceStore {
	readonly kind = 'sqlite' as const;
	readonly location: string;
	readonly contactKey: (identifier: string) => string;
	readonly identities: SqliteContactIdentities;
	readonly ledger: SqliteConsentLedger;
	readonly facts: SqliteContactFacts;
	readonly caps: SqliteFrequencyCaps;
	readonly sends: SqliteSendLog;
	readonly campaigns: SqliteCampaignState;
	readonly limiter: SqliteSendLimiter;
	readonly dedupe: SqliteWebhookDedupe;

	private readonly db: SqliteDatabase;

	private constructor(db: SqliteDatabase) {
		this.db = db;
		this.location = db.file;
		this.contactKey = contactKeyer(db.secret);
		// One memory of seen links per store: Forget Contact (ledger) empties what identities remember.
		const knownLinks = new KnownLinks();
		this.identities = new SqliteContactIdentities(db, knownLinks);
		this.ledger = new SqliteConsentLedger(db, knownLinks);
		this.facts = new SqliteContactFacts(db);
		this.caps = new SqliteFrequencyCaps(db, randomUUID());
		this.sends = new SqliteSendLog(db);
		this.campaigns = new SqliteCampaignState(db);
		this.limiter = new SqliteSendLimiter(db);
		this.dedupe = new SqliteWebhookDedupe(db);
	}

	static open(file: string = defaultSqlitePath()): SqliteStore {
		return new SqliteStore(SqliteDatabase.open(file));
	}

	/** The file stays open for the process: nothing to check per execution. */
	async check(): Promise<void> {}

	close(): Promise<void> {
		this.caps.lease.stop();
		return this.db.close();
	}
}
