/**
 * The contact-key secret is not beside the data in the embedded store (issue #18): a copy of the
 * SQLite file alone does not hold it; version-1 stores are migrated with their keys unchanged.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { createHmac, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { SQLITE_SCHEMA_VERSION, SqliteStore } from '../../nodes/store/SqliteStore';

/** Takes a current file back to before version 5 (spend budgets), as an older package left it. */
const DROP_V5 =
	'DROP INDEX send_log_campaign; ALTER TABLE send_log DROP COLUMN cost; ALTER TABLE send_log DROP COLUMN spend_day; ALTER TABLE send_log DROP COLUMN campaign;';

const fileIn = () => path.join(mkdtempSync(path.join(tmpdir(), 'wac-key-')), 'store.sqlite');
const bytesOf = (file: string) =>
	['', '-wal', '-shm'].map((suffix) => (existsSync(file + suffix) ? readFileSync(file + suffix) : Buffer.alloc(0)));

describe('the embedded store’s contact-key secret', () => {
	test('lives in an owner-only key file beside the store, not in the database', async () => {
		const file = fileIn();
		const store = SqliteStore.open(file);
		const key = store.contactKey('+33612345678');
		await store.close();
		const secret = readFileSync(`${file}.key`, 'utf8').trim();
		expect(statSync(`${file}.key`).mode & 0o777).toBe(0o600);
		expect(createHmac('sha256', Buffer.from(secret, 'hex')).update('+33612345678').digest('hex')).toBe(key);
		for (const bytes of bytesOf(file)) {
			expect(bytes.includes(Buffer.from(secret))).toBe(false);
			expect(bytes.includes(Buffer.from(secret, 'hex'))).toBe(false);
		}
		const reopened = SqliteStore.open(file);
		expect(reopened.contactKey('+33612345678')).toBe(key);
		await reopened.close();
	});

	test('a version-1 store is migrated: the same keys, the secret gone from the file', async () => {
		const file = fileIn();
		// A store as version 1 wrote it: the schema, and the secret in its meta table.
		const secret = randomBytes(32).toString('hex');
		const v1 = SqliteStore.open(file);
		await v1.close();
		rmSync(`${file}.key`);
		const db = new DatabaseSync(file);
		db.exec(`PRAGMA user_version = 1; INSERT INTO meta (key, value) VALUES ('contact_key_secret', '${secret}')`);
		db.close();

		const store = SqliteStore.open(file);
		expect(store.contactKey('+33612345678')).toBe(
			createHmac('sha256', Buffer.from(secret, 'hex')).update('+33612345678').digest('hex'),
		);
		await store.close();
		expect(readFileSync(`${file}.key`, 'utf8').trim()).toBe(secret);
		for (const bytes of bytesOf(file)) expect(bytes.includes(Buffer.from(secret))).toBe(false);
		const check = new DatabaseSync(file);
		expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_SCHEMA_VERSION });
		check.close();
	});

	test('a migrated store whose key file is lost is refused, never given a new key', async () => {
		const file = fileIn();
		await SqliteStore.open(file).close();
		rmSync(`${file}.key`);
		expect(() => SqliteStore.open(file)).toThrow(`The contact-key file ${file}.key is missing`);
	});

	test('a version-2 store (before BSUID aliases) opens as the current version with its keys and data, and takes aliases', async () => {
		const file = fileIn();
		const before = SqliteStore.open(file);
		const number = before.contactKey('+16315551181');
		await before.ledger.recordConsent([
			{ contactKey: number, action: 'opt_out', categories: ['marketing'], at: Date.now(), source: 'email' },
		]);
		await before.close();
		const db = new DatabaseSync(file);
		db.exec(
			`DROP TABLE contact_aliases; ${DROP_V5} ALTER TABLE send_log DROP COLUMN owner; DROP TABLE cap_owners; PRAGMA user_version = 2`,
		);
		db.close();

		const store = SqliteStore.open(file);
		expect(store.contactKey('+16315551181')).toBe(number);
		expect(await store.ledger.consentHistory(number)).toHaveLength(1);
		const bsuid = store.contactKey('US.13491208655302741918');
		expect(await store.identities.link(bsuid, number, Date.now())).toBe(true);
		expect(await store.identities.resolve([bsuid])).toEqual([number]);
		await store.close();
		const check = new DatabaseSync(file);
		expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_SCHEMA_VERSION });
		check.close();
	});

	test('a version-4 store (before spend budgets) opens as the current version with its sends, and counts spend', async () => {
		const file = fileIn();
		const before = SqliteStore.open(file);
		const contact = before.contactKey('+33612345679');
		const now = Date.now();
		const request = (units: number) => ({
			contactKey: contact,
			category: 'marketing' as const,
			phoneNumberId: 'phone-1',
			reservationTtlMs: 900_000,
			spend: { units, day: now - 1_000, nextDay: now + 86_400_000, perDay: 1_000_000 },
		});
		await before.caps.reserve([{ ...request(0), spend: undefined }], now - 1_000);
		await before.close();
		const db = new DatabaseSync(file);
		db.exec(`${DROP_V5} PRAGMA user_version = 4`);
		db.close();

		const store = SqliteStore.open(file);
		expect((await store.caps.reserve([request(700_000)], now))[0].allowed).toBe(true);
		expect((await store.caps.reserve([request(400_000)], now + 1))[0]).toMatchObject({
			allowed: false,
			reason: 'SPEND_BUDGET',
		});
		await store.close();
		const check = new DatabaseSync(file);
		expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_SCHEMA_VERSION });
		expect(check.prepare('SELECT cost, campaign FROM send_log ORDER BY id').all()).toEqual([
			{ cost: 0, campaign: null },
			{ cost: 700_000, campaign: null },
		]);
		check.close();
	});

	test('a version-3 store (before reservation owners) opens as the current version with its sends, and takes reservations', async () => {
		const file = fileIn();
		const before = SqliteStore.open(file);
		const contact = before.contactKey('+33612345678');
		const request = {
			contactKey: contact,
			category: 'marketing' as const,
			phoneNumberId: 'phone-1',
			rule: { maxCount: 2, windowMs: 86_400_000, minGapMs: 3_600_000 },
			reservationTtlMs: 900_000,
		};
		const now = Date.now();
		const [sent] = await before.caps.reserve([request], now - 7_200_000);
		await before.caps.confirmReservation((sent as { reservationId: string }).reservationId, now - 7_200_000);
		await before.close();
		const db = new DatabaseSync(file);
		db.exec(`${DROP_V5} ALTER TABLE send_log DROP COLUMN owner; DROP TABLE cap_owners; PRAGMA user_version = 3`);
		db.close();

		const store = SqliteStore.open(file);
		// The send made before the migration still counts: one more fits in the window, then the cap.
		expect((await store.caps.reserve([request], now))[0].allowed).toBe(true);
		expect((await store.caps.reserve([request], now + 1))[0]).toMatchObject({ allowed: false, reason: 'RESERVED' });
		await store.close();
		const check = new DatabaseSync(file);
		expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SQLITE_SCHEMA_VERSION });
		expect(check.prepare('SELECT owner FROM send_log WHERE confirmed = 0').all()).toEqual([
			{ owner: expect.any(String) },
		]);
		check.close();
	});

	test('a version-2 store whose key file is lost is refused by the migration too', async () => {
		const file = fileIn();
		await SqliteStore.open(file).close();
		const db = new DatabaseSync(file);
		db.exec('DROP TABLE contact_aliases; PRAGMA user_version = 2');
		db.close();
		rmSync(`${file}.key`);
		expect(() => SqliteStore.open(file)).toThrow(`The contact-key file ${file}.key is missing`);
	});
});
