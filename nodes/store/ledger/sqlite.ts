/** The consent ledger, suppressions and contact facts in SQLite (the Redis half: ./redis.ts). */
import { deriveContactState } from '../../core/contactState';
import {
	expandScope,
	FORGOTTEN_SUPPRESSION,
	LIFTED_BY_OPT_IN,
	OPT_OUT_SUPPRESSION,
	type ConsentEvent,
	type ConsentEventInput,
	type ConsentScope,
	type ContactState,
	type Suppression,
	type SuppressionReason,
} from '../../core/types';
import type { KnownLinks } from '../identities/knownLinks';
import { chunks, placeholders, sqlList, type SqliteDatabase } from '../sqlite/database';
import type { ConsentLedger, ContactFacts } from '../types';

/** A newer suppression replaces an older one; an older one arriving late changes nothing. */
const UPSERT_SUPPRESSION =
	'INSERT INTO suppressions (contact, category, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT (contact, category) DO UPDATE SET reason = excluded.reason, at = excluded.at WHERE excluded.at >= suppressions.at';

export class SqliteConsentLedger implements ConsentLedger {
	private readonly db: SqliteDatabase;
	private readonly knownLinks: KnownLinks;

	constructor(db: SqliteDatabase, knownLinks: KnownLinks) {
		this.db = db;
		this.knownLinks = knownLinks;
	}

	async recordConsent(events: ConsentEventInput[]): Promise<void> {
		const recordedAt = Date.now();
		const insert = this.db.statement(
			'INSERT INTO consent_events (contact, action, category, at, source, wording, business_name, collected_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
		);
		const suppress = this.db.statement(UPSERT_SUPPRESSION);
		// An opt-in lifts only the suppressions it may lift, and only those it is later than.
		const lift = this.db.statement(
			`DELETE FROM suppressions WHERE contact = ? AND category = ? AND reason IN (${sqlList(LIFTED_BY_OPT_IN)}) AND at <= ?`,
		);
		this.db.write(() => {
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
						if (event.action === 'opt_out') suppress.run(event.contactKey, each, OPT_OUT_SUPPRESSION, event.at);
						else if (event.action === 'opt_in') lift.run(event.contactKey, each, event.at);
					}
				}
			}
		});
	}

	async consentHistory(contactKey: string): Promise<ConsentEvent[]> {
		const rows = this.db
			.statement('SELECT * FROM consent_events WHERE contact = ? ORDER BY at, id')
			.all(contactKey) as Array<Record<string, unknown>>;
		return rows.map(toConsentEvent);
	}

	async suppress(
		entries: Array<{ contactKey: string; category: ConsentScope; reason: SuppressionReason; at: number }>,
	): Promise<void> {
		const upsert = this.db.statement(UPSERT_SUPPRESSION);
		this.db.write(() => {
			for (const entry of entries)
				for (const category of expandScope(entry.category))
					upsert.run(entry.contactKey, category, entry.reason, entry.at);
		});
	}

	async liftSuppressions(
		entries: Array<{ contactKey: string; category: ConsentScope; reasons: SuppressionReason[] }>,
	): Promise<void> {
		const remove = this.db.statement('DELETE FROM suppressions WHERE contact = ? AND category = ? AND reason = ?');
		this.db.write(() => {
			for (const entry of entries)
				for (const category of expandScope(entry.category))
					for (const reason of entry.reasons) remove.run(entry.contactKey, category, reason);
		});
	}

	async forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }> {
		return this.db.write(() => {
			const { changes } = this.db.statement('DELETE FROM consent_events WHERE contact = ?').run(contactKey);
			this.db.statement('DELETE FROM contact_facts WHERE contact = ?').run(contactKey);
			const keep = this.db.statement(
				'INSERT OR IGNORE INTO suppressions (contact, category, reason, at) VALUES (?, ?, ?, ?)',
			);
			// The person's other identifiers (BSUIDs) stay blocked too, and the links between them go.
			const aliases = (
				this.db.statement('SELECT alias FROM contact_aliases WHERE contact = ?').all(contactKey) as Array<{
					alias: string;
				}>
			).map((row) => row.alias);
			for (const key of [contactKey, ...aliases])
				for (const category of expandScope('all')) keep.run(key, category, FORGOTTEN_SUPPRESSION, at);
			this.db.statement('DELETE FROM contact_aliases WHERE contact = ?').run(contactKey);
			this.knownLinks.clear();
			return { eventsDeleted: Number(changes) };
		});
	}

	async contactStates(contactKeys: string[]): Promise<Map<string, ContactState>> {
		const unique = [...new Set(contactKeys)];
		const events = new Map<string, ConsentEvent[]>();
		const suppressions = new Map<string, Suppression[]>();
		const facts = new Map<string, Record<string, number | null>>();
		for (const part of chunks(unique)) {
			const list = placeholders(part.length);
			for (const row of this.db
				.statement(`SELECT * FROM consent_events WHERE contact IN (${list})`)
				.all(...part) as Array<Record<string, unknown>>) {
				const contact = row.contact as string;
				if (!events.has(contact)) events.set(contact, []);
				events.get(contact)!.push(toConsentEvent(row));
			}
			for (const row of this.db
				.statement(`SELECT contact, category, reason, at FROM suppressions WHERE contact IN (${list})`)
				.all(...part) as Array<Record<string, unknown>>) {
				const contact = row.contact as string;
				if (!suppressions.has(contact)) suppressions.set(contact, []);
				suppressions.get(contact)!.push({
					category: row.category as ConsentScope,
					reason: row.reason as SuppressionReason,
					at: row.at as number,
				});
			}
			for (const row of this.db
				.statement(`SELECT * FROM contact_facts WHERE contact IN (${list})`)
				.all(...part) as Array<Record<string, number | null>>) {
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
}

export class SqliteContactFacts implements ContactFacts {
	private readonly db: SqliteDatabase;

	constructor(db: SqliteDatabase) {
		this.db = db;
	}

	private fact(column: 'undeliverable_at' | 'hold_until' | 'last_interaction_at', contactKey: string, value: number) {
		// Later facts win; an earlier one arriving late (webhook retries) changes nothing.
		this.db.guard(() =>
			this.db
				.statement(
					`INSERT INTO contact_facts (contact, ${column}) VALUES (?, ?) ON CONFLICT (contact) DO UPDATE SET ${column} = MAX(COALESCE(${column}, 0), excluded.${column})`,
				)
				.run(contactKey, value),
		);
	}

	async markUndeliverable(contactKey: string, at: number): Promise<void> {
		this.fact('undeliverable_at', contactKey, at);
	}

	async clearUndeliverable(contactKey: string, upTo: number): Promise<void> {
		this.db.guard(() =>
			this.db
				.statement('UPDATE contact_facts SET undeliverable_at = NULL WHERE contact = ? AND undeliverable_at <= ?')
				.run(contactKey, upTo),
		);
	}

	async holdContact(contactKey: string, until: number): Promise<void> {
		this.fact('hold_until', contactKey, until);
	}

	async recordInteraction(contactKey: string, at: number): Promise<void> {
		this.fact('last_interaction_at', contactKey, at);
	}
}

function toConsentEvent(row: Record<string, unknown>): ConsentEvent {
	const event: ConsentEvent = {
		id: Number(row.id),
		contactKey: row.contact as string,
		action: row.action as ConsentEvent['action'],
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
