/** Contact aliases in SQLite (the Redis half: ./redis.ts). Table `contact_aliases` (schema version 3). */
import { chunks, placeholders, type SqliteDatabase } from '../sqlite/database';
import type { ContactIdentities } from '../types';
import type { KnownLinks } from './knownLinks';

export class SqliteContactIdentities implements ContactIdentities {
	private readonly db: SqliteDatabase;
	private readonly known: KnownLinks;

	constructor(db: SqliteDatabase, known: KnownLinks) {
		this.db = db;
		this.known = known;
	}

	async link(aliasKey: string, contactKey: string, at: number): Promise<boolean> {
		if (aliasKey === contactKey || this.known.has(aliasKey)) return false;
		const added = this.db.write(() => {
			const added = this.db
				.statement('INSERT OR IGNORE INTO contact_aliases (alias, contact, at) VALUES (?, ?, ?)')
				.run(aliasKey, contactKey, at).changes;
			if (!added) return false;
			// What was recorded under the alias before Meta paired it with the person follows the person.
			this.db
				.statement(
					`INSERT INTO consent_events (contact, action, category, at, source, wording, business_name, collected_by, recorded_at)
					 SELECT ?, action, category, at, source, wording, business_name, collected_by, recorded_at FROM consent_events WHERE contact = ? ORDER BY id`,
				)
				.run(contactKey, aliasKey);
			this.db
				.statement(
					`INSERT INTO suppressions (contact, category, reason, at) SELECT ?, category, reason, at FROM suppressions WHERE contact = ?
					 ON CONFLICT (contact, category) DO UPDATE SET reason = excluded.reason, at = excluded.at WHERE excluded.at >= suppressions.at`,
				)
				.run(contactKey, aliasKey);
			this.db
				.statement(
					`INSERT INTO contact_facts (contact, undeliverable_at, hold_until, last_interaction_at)
					 SELECT ?, undeliverable_at, hold_until, last_interaction_at FROM contact_facts WHERE contact = ?
					 ON CONFLICT (contact) DO UPDATE SET
						undeliverable_at = max(coalesce(undeliverable_at, 0), coalesce(excluded.undeliverable_at, 0)),
						hold_until = max(coalesce(hold_until, 0), coalesce(excluded.hold_until, 0)),
						last_interaction_at = max(coalesce(last_interaction_at, 0), coalesce(excluded.last_interaction_at, 0))`,
				)
				.run(contactKey, aliasKey);
			this.db
				.statement(
					`UPDATE contact_facts SET undeliverable_at = nullif(undeliverable_at, 0), hold_until = nullif(hold_until, 0),
					 last_interaction_at = nullif(last_interaction_at, 0) WHERE contact = ?`,
				)
				.run(contactKey);
			return true;
		});
		this.known.remember(aliasKey);
		return added;
	}

	async resolve(keys: string[]): Promise<string[]> {
		const found = new Map<string, string>();
		this.db.guard(() => {
			for (const chunk of chunks([...new Set(keys)]))
				for (const row of this.db
					.statement(`SELECT alias, contact FROM contact_aliases WHERE alias IN (${placeholders(chunk.length)})`)
					.all(...chunk) as Array<{ alias: string; contact: string }>)
					found.set(row.alias, row.contact);
		});
		return keys.map((key) => found.get(key) ?? key);
	}
}
