import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Redis from 'ioredis';

import { RESERVATION_LEASE_MS } from '../../nodes/core/retention';
import { DAY_MS, HOUR_MS } from '../../nodes/core/time';
import { FORGOTTEN_SUPPRESSION, OPT_OUT_SUPPRESSION } from '../../nodes/core/types';
import { RedisStore } from '../../nodes/store/RedisStore';
import { SqliteStore } from '../../nodes/store/SqliteStore';
import type { CapRequest, PauseState, SpendRequest } from '../../nodes/core/types';
import type { ComplianceStore } from '../../nodes/store/types';
import { startRedisServer, type RedisServer } from '../helpers/redisServer';

let redisServer: RedisServer;
let tempDir: string;
let counter = 0;

beforeAll(async () => {
	redisServer = await startRedisServer();
	tempDir = mkdtempSync(path.join(tmpdir(), 'wac-store-'));
});
afterAll(async () => {
	await redisServer.stop();
	rmSync(tempDir, { recursive: true, force: true });
});

interface Backend {
	name: string;
	open(): Promise<ComplianceStore>;
	/** Another store object on the data of the last `open` (another process sharing the store). */
	openAgain(): Promise<ComplianceStore>;
	/** Every byte the store wrote, to look for plain phone numbers. */
	rawContent(store: ComplianceStore): Promise<string>;
}

let lastRedisSecret = '';
const backends: Backend[] = [
	{
		name: 'embedded SQLite',
		open: async () => SqliteStore.open(path.join(tempDir, `store-${++counter}.sqlite`)),
		openAgain: async () => SqliteStore.open(path.join(tempDir, `store-${counter}.sqlite`)),
		rawContent: async (store) => {
			await store.close();
			const dir = path.dirname(store.location);
			const base = path.basename(store.location);
			return readdirSync(dir)
				.filter((f) => f.startsWith(base))
				.map((f) => readFileSync(path.join(dir, f)).toString('latin1'))
				.join('\n');
		},
	},
	{
		name: 'Redis',
		open: async () =>
			RedisStore.open({
				host: redisServer.host,
				port: redisServer.port,
				keyPrefix: `t${++counter}:`,
				// Each store its own secret, as each install has its own credential.
				contactKeySecret: (lastRedisSecret = randomBytes(32).toString('hex')),
			}),
		openAgain: async () =>
			RedisStore.open({
				host: redisServer.host,
				port: redisServer.port,
				keyPrefix: `t${counter}:`,
				contactKeySecret: lastRedisSecret,
			}),
		rawContent: async () => {
			const redis = new Redis({ host: redisServer.host, port: redisServer.port });
			const dump: string[] = [];
			for (const key of await redis.keys('*')) {
				dump.push(key);
				const type = await redis.type(key);
				if (type === 'string') dump.push(String(await redis.get(key)));
				if (type === 'list') dump.push(...(await redis.lrange(key, 0, -1)));
				if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)));
				if (type === 'zset') dump.push(...(await redis.zrange(key, 0, -1, 'WITHSCORES')));
			}
			await redis.quit();
			return dump.join('\n');
		},
	},
];

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const marketing2per24h = { maxCount: 2, windowMs: DAY_MS, minGapMs: 6 * HOUR_MS };

describe.each(backends)('compliance store: $name', (backend) => {
	let store: ComplianceStore;
	beforeEach(async () => {
		store = await backend.open();
	});
	afterEach(async () => {
		await store.close();
	});

	const request = (contactKey: string, extra: Partial<CapRequest> = {}): CapRequest => ({
		contactKey,
		category: 'marketing',
		phoneNumberId: 'phone-1',
		rule: marketing2per24h,
		reservationTtlMs: 15 * 60_000,
		...extra,
	});

	describe('contact keys', () => {
		test('are a keyed HMAC: stable per store, not the plain SHA-256 of the number, different between stores', async () => {
			const key = store.contactKey('+33612345678');
			expect(key).toMatch(/^[0-9a-f]{64}$/);
			expect(store.contactKey('+33612345678')).toBe(key);
			expect(key).not.toBe(createHash('sha256').update('+33612345678').digest('hex'));
			const other = await backend.open();
			expect(other.contactKey('+33612345678')).not.toBe(key);
			await other.close();
		});
	});

	describe('contact identities (BSUIDs)', () => {
		// Identifiers from whatsapp-api-js's test/payloads.test.js (Meta's v25 payload shapes).
		const BSUID = 'US.13491208655302741918';
		const PARENT = 'US.ENT.506847293015824';

		test('a BSUID keys apart from every number, even the one made of its digits', async () => {
			expect(store.contactKey(BSUID)).toMatch(/^[0-9a-f]{64}$/);
			expect(store.contactKey(BSUID)).not.toBe(store.contactKey('+13491208655302741918'));
			expect(store.contactKey(BSUID)).not.toBe(store.contactKey(PARENT));
		});

		test('an alias resolves to the contact it was first linked to; unknown keys resolve to themselves', async () => {
			const number = store.contactKey('+16315551181');
			const bsuid = store.contactKey(BSUID);
			const other = store.contactKey('+16315550000');
			expect(await store.identities.resolve([bsuid, number])).toEqual([bsuid, number]);
			expect(await store.identities.link(bsuid, number, T0)).toBe(true);
			expect(await store.identities.link(bsuid, number, T0 + 1)).toBe(false);
			expect(await store.identities.link(bsuid, other, T0 + 2)).toBe(false);
			expect(await store.identities.link(number, number, T0)).toBe(false);
			expect(await store.identities.resolve([bsuid, number, other])).toEqual([number, number, other]);
		});

		test('what was recorded under the BSUID before Meta paired it with the number follows the person', async () => {
			const number = store.contactKey('+16315551181');
			const bsuid = store.contactKey(BSUID);
			await store.ledger.recordConsent([
				{ contactKey: number, action: 'opt_in', categories: ['marketing'], at: T0, source: 'web-form' },
			]);
			// A username user's STOP, known only by BSUID; and a 131049 hold.
			await store.ledger.recordConsent([
				{ contactKey: bsuid, action: 'opt_out', categories: ['all'], at: T0 + DAY_MS, source: 'whatsapp-keyword' },
			]);
			await store.facts.holdContact(bsuid, T0 + 2 * DAY_MS);
			expect((await store.ledger.contactStates([number])).get(number)!.suppressions).toEqual([]);

			expect(await store.identities.link(bsuid, number, T0 + DAY_MS + 1)).toBe(true);
			const state = (await store.ledger.contactStates([number])).get(number)!;
			expect(state.suppressions).toContainEqual(
				expect.objectContaining({ category: 'marketing', reason: OPT_OUT_SUPPRESSION, at: T0 + DAY_MS }),
			);
			expect(state.consent.marketing).toMatchObject({ action: 'opt_out', source: 'whatsapp-keyword' });
			expect(state.holdUntil).toBe(T0 + 2 * DAY_MS);
			expect((await store.ledger.consentHistory(number)).map((e) => [e.action, e.category])).toEqual([
				['opt_in', 'marketing'],
				['opt_out', 'all'],
			]);
			// Linking again copies nothing twice.
			await store.identities.link(bsuid, number, T0 + DAY_MS + 2);
			expect(await store.ledger.consentHistory(number)).toHaveLength(2);
		});

		test('forgetting the person keeps every identifier of theirs blocked and drops the links between them', async () => {
			const number = store.contactKey('+16315551182');
			const bsuid = store.contactKey('US.13491208655302741919');
			await store.ledger.recordConsent([
				{ contactKey: number, action: 'opt_in', categories: ['marketing'], at: T0, source: 'web-form' },
			]);
			await store.identities.link(bsuid, number, T0);
			await store.ledger.forgetContact(number, T0 + 1);
			expect(await store.identities.resolve([bsuid])).toEqual([bsuid]);
			for (const key of [number, bsuid])
				expect((await store.ledger.contactStates([key])).get(key)!.suppressions).toContainEqual(
					expect.objectContaining({ category: 'marketing', reason: FORGOTTEN_SUPPRESSION }),
				);
		});

		test('after forgetting, Meta pairing the same BSUID with the number again links it again (no stale memory of the link)', async () => {
			const number = store.contactKey('+16315551183');
			const bsuid = store.contactKey('US.13491208655302741920');
			expect(await store.identities.link(bsuid, number, T0)).toBe(true);
			await store.ledger.forgetContact(number, T0 + 1);
			expect(await store.identities.link(bsuid, number, T0 + 2)).toBe(true);
			expect(await store.identities.resolve([bsuid])).toEqual([number]);
		});

		test('holds no plain BSUID after links and ledger writes', async () => {
			const bsuid = store.contactKey(BSUID);
			const parent = store.contactKey(PARENT);
			await store.ledger.recordConsent([
				{ contactKey: bsuid, action: 'opt_out', categories: ['all'], at: T0, source: 'whatsapp-keyword' },
			]);
			await store.identities.link(parent, bsuid, T0);
			const raw = await backend.rawContent(store);
			for (const id of [BSUID, PARENT, '13491208655302741918', '506847293015824']) expect(raw).not.toContain(id);
			expect(raw).toContain(bsuid);
		});
	});

	describe('consent ledger', () => {
		test('a marketing resume set inside WhatsApp is kept as history and decides nothing: the opt-out and its suppression stay', async () => {
			const c = store.contactKey('+33612345690');
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_out', categories: ['marketing'], at: T0 }]);
			await store.ledger.recordConsent([
				{
					contactKey: c,
					action: 'marketing_resumed',
					categories: ['marketing'],
					at: T0 + 1,
					source: 'whatsapp-preferences',
				},
			]);
			expect((await store.ledger.consentHistory(c)).map((e) => e.action)).toEqual(['opt_out', 'marketing_resumed']);
			const state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.consent.marketing).toMatchObject({ action: 'opt_out', at: T0 });
			expect(state.suppressions.map((s) => s.category)).toEqual(['marketing']);
		});

		test('keeps every event in order of when the person acted, with its proof fields', async () => {
			const c = store.contactKey('+33612345678');
			await store.ledger.recordConsent([
				{
					contactKey: c,
					action: 'opt_in',
					categories: ['marketing', 'utility'],
					at: T0,
					source: 'web-form',
					wording: 'Yes, send me offers on WhatsApp',
					businessName: 'Acme',
					collectedBy: 'signup-workflow',
				},
			]);
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_out', categories: ['marketing'], at: T0 + DAY_MS, source: 'email-reply' },
			]);
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_in', categories: ['authentication'], at: T0 - DAY_MS, source: 'paper' },
			]);
			const history = await store.ledger.consentHistory(c);
			expect(history.map((e) => [e.action, e.category, e.at, e.source])).toEqual([
				['opt_in', 'authentication', T0 - DAY_MS, 'paper'],
				['opt_in', 'marketing', T0, 'web-form'],
				['opt_in', 'utility', T0, 'web-form'],
				['opt_out', 'marketing', T0 + DAY_MS, 'email-reply'],
			]);
			expect(history[1]).toMatchObject({
				wording: 'Yes, send me offers on WhatsApp',
				businessName: 'Acme',
				collectedBy: 'signup-workflow',
				contactKey: c,
			});
			expect(history[1].recordedAt).toBeGreaterThan(0);
		});

		test('current consent per category is the latest event covering it; an all-category opt-out covers each', async () => {
			const c = store.contactKey('+33612345678');
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_in', categories: ['marketing', 'utility'], at: T0 },
			]);
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_out', categories: ['all'], at: T0 + 1000 }]);
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['utility'], at: T0 + 2000 }]);
			const state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.consent.marketing?.action).toBe('opt_out');
			expect(state.consent.authentication?.action).toBe('opt_out');
			expect(state.consent.utility?.action).toBe('opt_in');
			expect(state.suppressions.map((s) => s.category).sort()).toEqual(['authentication', 'marketing']);
			expect(state.suppressions.every((s) => s.reason === 'OPTED_OUT')).toBe(true);
		});

		test('an old opt-in recorded late does not lift a newer opt-out', async () => {
			const c = store.contactKey('+33612345678');
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_out', categories: ['marketing'], at: T0 }]);
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 - DAY_MS },
			]);
			const state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.consent.marketing?.action).toBe('opt_out');
			expect(state.suppressions).toEqual([{ category: 'marketing', reason: 'OPTED_OUT', at: T0 }]);
		});

		test('a marketing stop inside WhatsApp is not lifted by a CRM opt-in', async () => {
			const c = store.contactKey('+33612345678');
			await store.ledger.suppress([{ contactKey: c, category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: T0 }]);
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 + 1000 }]);
			expect((await store.ledger.contactStates([c])).get(c)!.suppressions).toEqual([
				{ category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: T0 },
			]);
		});

		test('forgetting a contact erases the ledger but keeps them suppressed', async () => {
			const c = store.contactKey('+33612345678');
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0, wording: 'Offers' },
			]);
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_out', categories: ['marketing'], at: T0 + 1 }]);
			await store.facts.recordInteraction(c, T0 + 2);
			expect(await store.ledger.forgetContact(c, T0 + 3)).toEqual({ eventsDeleted: 2 });
			expect(await store.ledger.consentHistory(c)).toEqual([]);
			const state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.lastInteractionAt).toBeUndefined();
			expect(state.suppressions.sort((a, b) => a.category.localeCompare(b.category))).toEqual([
				{ category: 'authentication', reason: 'FORGOTTEN', at: T0 + 3 },
				{ category: 'marketing', reason: 'OPTED_OUT', at: T0 + 1 },
				{ category: 'utility', reason: 'FORGOTTEN', at: T0 + 3 },
			]);
		});

		test('a forgotten contact stays suppressed until a fresh opt-in given after the erasure', async () => {
			const c = store.contactKey('+33612340078');
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 }]);
			await store.ledger.forgetContact(c, T0 + 10);
			let state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.suppressions.map((s) => s.reason)).toEqual(['FORGOTTEN', 'FORGOTTEN', 'FORGOTTEN']);
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['all'], at: T0 + 20 }]);
			state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.suppressions).toEqual([]);
		});

		test('a changed number stays suppressed until a new opt-in given after the change lifts it', async () => {
			const c = store.contactKey('+33612340077');
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 }]);
			await store.ledger.suppress([{ contactKey: c, category: 'all', reason: 'NUMBER_CHANGED', at: T0 + 10 }]);
			// An opt-in older than the change (the previous owner's, arriving late) lifts nothing.
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 + 5 }]);
			let state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.suppressions.map((s) => s.reason)).toEqual(['NUMBER_CHANGED', 'NUMBER_CHANGED', 'NUMBER_CHANGED']);
			// The new owner's opt-in lifts it for the category it covers.
			await store.ledger.recordConsent([{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0 + 20 }]);
			state = (await store.ledger.contactStates([c])).get(c)!;
			expect(state.suppressions.map((s) => s.category).sort()).toEqual(['authentication', 'utility']);
		});

		test('Meta’s 131049 hold defers marketing only: utility and authentication still go', async () => {
			const c = store.contactKey('+33612340079');
			await store.facts.holdContact(c, T0 + DAY_MS);
			const decide = async (category: 'marketing' | 'utility' | 'authentication') =>
				(await store.caps.reserve([request(c, { category, rule: undefined, dryRun: true })], T0))[0];
			expect(await decide('marketing')).toEqual({ allowed: false, reason: 'META_HOLD', nextAllowedAt: T0 + DAY_MS });
			expect(await decide('utility')).toEqual({ allowed: true });
			expect(await decide('authentication')).toEqual({ allowed: true });
			expect((await store.ledger.contactStates([c])).get(c)!.holdUntil).toBe(T0 + DAY_MS);
		});

		test('undeliverable, hold and last interaction keep the latest value; unknown contacts have an empty state', async () => {
			const c = store.contactKey('+5511987654321');
			await store.facts.markUndeliverable(c, T0 + 10);
			await store.facts.markUndeliverable(c, T0);
			await store.facts.holdContact(c, T0 + DAY_MS);
			await store.facts.holdContact(c, T0 + 1);
			await store.facts.recordInteraction(c, T0 + 5);
			await store.facts.recordInteraction(c, T0 + 1);
			const unknown = store.contactKey('+447400123456');
			const states = await store.ledger.contactStates([c, unknown, c]);
			expect(states.get(c)).toMatchObject({
				undeliverableAt: T0 + 10,
				lastInteractionAt: T0 + 5,
			});
			expect(states.get(unknown)).toEqual({ consent: {}, suppressions: [] });
			// The hold is read by the cap: the later one stands.
			expect(await store.caps.reserve([request(c, { dryRun: true })], T0 + 2)).toEqual([
				{ allowed: false, reason: 'META_HOLD', nextAllowedAt: T0 + DAY_MS },
			]);
		});

		test('reads thousands of contacts in one call', async () => {
			const keys = Array.from({ length: 3000 }, (_, i) => store.contactKey(`+336${String(10_000_000 + i)}`));
			await store.ledger.suppress(
				keys
					.slice(0, 1000)
					.map((contactKey) => ({ contactKey, category: 'all' as const, reason: 'IMPORTED' as const, at: T0 })),
			);
			const states = await store.ledger.contactStates(keys);
			expect(states.size).toBe(3000);
			expect([...states.values()].filter((s) => s.suppressions.length === 3)).toHaveLength(1000);
		});
	});

	describe('frequency caps', () => {
		/** Reserve and, when allowed, confirm at once: a message that went out. */
		const sendAt = async (req: CapRequest, at: number) => {
			const [decision] = await store.caps.reserve([req], at);
			if (decision.allowed) await store.caps.confirmReservation(decision.reservationId!, at);
			return decision;
		};

		test('marketing: two per rolling 24 h, at least 6 h apart, exact at the edges', async () => {
			const c = store.contactKey('+33612345678');
			const first = await sendAt(request(c), T0);
			expect(first).toMatchObject({ allowed: true, reservationId: expect.any(String) });
			expect(await sendAt(request(c), T0 + 6 * HOUR_MS - 1)).toEqual({
				allowed: false,
				reason: 'MIN_GAP',
				nextAllowedAt: T0 + 6 * HOUR_MS,
			});
			expect((await sendAt(request(c), T0 + 6 * HOUR_MS)).allowed).toBe(true);
			expect(await sendAt(request(c), T0 + 12 * HOUR_MS)).toEqual({
				allowed: false,
				reason: 'CONTACT_CAP',
				nextAllowedAt: T0 + DAY_MS,
			});
			expect(await sendAt(request(c), T0 + DAY_MS - 1)).toEqual({
				allowed: false,
				reason: 'CONTACT_CAP',
				nextAllowedAt: T0 + DAY_MS,
			});
			expect((await sendAt(request(c), T0 + DAY_MS)).allowed).toBe(true);
		});

		test('categories are capped separately', async () => {
			const c = store.contactKey('+33612345678');
			await sendAt(request(c), T0);
			expect((await sendAt(request(c, { category: 'utility', rule: undefined }), T0 + 1)).allowed).toBe(true);
			expect((await store.caps.reserve([request(c)], T0 + 2))[0]).toMatchObject({ allowed: false, reason: 'MIN_GAP' });
		});

		test('one batch sees its own reservations', async () => {
			const c = store.contactKey('+33612345678');
			const decisions = await store.caps.reserve(
				[request(c), request(c), request(c, { rule: { maxCount: 1, windowMs: DAY_MS, minGapMs: 0 } })],
				T0,
			);
			// The second is held by the first's reservation only: nothing has been sent yet.
			expect(decisions.map((d) => (d.allowed ? 'ok' : d.reason))).toEqual(['ok', 'RESERVED', 'CONTACT_CAP']);
		});

		test('a killed process’s unconfirmed reservations stop holding contacts once its lease lapses; until then they are RESERVED, not MIN_GAP', async () => {
			const c = store.contactKey('+33612345601');
			const ttl = 15 * 60_000;
			// Process A reserves, then is killed: nothing confirmed, nothing released, its lease no longer renewed.
			const a = await backend.openAgain();
			expect((await a.caps.reserve([request(c, { budgets: { messagesPerHour: 1 } })], T0))[0].allowed).toBe(true);
			await a.close();
			// Process B, while A's lease still runs: held by the reservation alone, free when it lapses.
			expect((await store.caps.reserve([request(c)], T0 + 10_000))[0]).toEqual({
				allowed: false,
				reason: 'RESERVED',
				nextAllowedAt: T0 + ttl,
			});
			// Once the lease has lapsed, B reaches the person at once, and the number's hourly budget of one
			// counts B's reservation only.
			const [taken] = await store.caps.reserve(
				[request(c, { budgets: { messagesPerHour: 1 } })],
				T0 + RESERVATION_LEASE_MS + 1,
			);
			expect(taken).toMatchObject({ allowed: true, reservationId: expect.any(String) });
			expect(
				(
					await store.caps.reserve(
						[request(store.contactKey('+33612345602'), { budgets: { messagesPerHour: 1 } })],
						T0 + RESERVATION_LEASE_MS + 2,
					)
				)[0],
			).toMatchObject({
				allowed: false,
				reason: 'HOURLY_BUDGET',
				nextAllowedAt: T0 + RESERVATION_LEASE_MS + 1 + HOUR_MS,
			});
			// Once a message went out, the minimum gap holds.
			await store.caps.confirmReservation((taken as { reservationId: string }).reservationId, T0 + 40_000);
			expect((await store.caps.reserve([request(c)], T0 + 50_000))[0]).toEqual({
				allowed: false,
				reason: 'MIN_GAP',
				nextAllowedAt: T0 + 40_000 + 6 * HOUR_MS,
			});
		});

		describe('spend budgets (estimated cost in COST_UNITS)', () => {
			const DAY = Date.UTC(2026, 10, 2);
			const spend = (units: number, extra: Partial<SpendRequest> = {}): Partial<CapRequest> => ({
				rule: undefined,
				spend: { units, day: DAY, nextDay: DAY + DAY_MS, perDay: 1_000_000, ...extra },
			});
			const contact = (n: number) => store.contactKey(`+336${String(20_000_000 + n)}`);
			const reasons = (decisions: Awaited<ReturnType<ComplianceStore['caps']['reserve']>>) =>
				decisions.map((d) => (d.allowed ? 'ok' : `${d.reason}@${d.nextAllowedAt}`));

			test('per day: what fits the rest of the day’s budget goes, a dearer one waits for the next day, a free one always fits', async () => {
				// 0.40 + 0.40 reserved, then 0.30 would make 1.10 > 1.00; 0.20 makes exactly 1.00.
				const decisions = await store.caps.reserve(
					[contact(1), contact(2), contact(3), contact(4), contact(5)].map((c, i) =>
						request(c, spend([400_000, 400_000, 300_000, 200_000, 0][i])),
					),
					T0,
				);
				expect(reasons(decisions)).toEqual(['ok', 'ok', `SPEND_BUDGET@${DAY + DAY_MS}`, 'ok', 'ok']);
				// Another batch (another execution) sees the day as spent, even for the cheapest priced message.
				expect(reasons(await store.caps.reserve([request(contact(6), spend(1))], T0 + 1))).toEqual([
					`SPEND_BUDGET@${DAY + DAY_MS}`,
				]);
				// The next day starts from nothing; another sending number has its own.
				const nextDay = spend(1, { day: DAY + DAY_MS, nextDay: DAY + 2 * DAY_MS });
				expect(reasons(await store.caps.reserve([request(contact(7), nextDay)], T0 + 2))).toEqual(['ok']);
				expect(
					reasons(
						await store.caps.reserve([request(contact(8), { ...spend(900_000), phoneNumberId: 'phone-2' })], T0 + 3),
					),
				).toEqual(['ok']);
			});

			test('a released or lapsed reservation gives its cost back; a lapsed one confirmed late counts again', async () => {
				const [a, b] = await store.caps.reserve(
					[request(contact(11), spend(600_000)), request(contact(12), spend(400_000))],
					T0,
				);
				expect(reasons(await store.caps.reserve([request(contact(13), spend(100_000))], T0 + 1))[0]).toMatch(
					/^SPEND_BUDGET/,
				);
				// A permanent failure releases its slot: its 0.60 is spendable again.
				expect(await store.caps.releaseReservation((a as { reservationId: string }).reservationId)).toBe(true);
				const [c] = await store.caps.reserve([request(contact(13), spend(600_000))], T0 + 2);
				expect(c.allowed).toBe(true);
				// b lapses unconfirmed (15 min): its 0.40 stops counting, so 0.40 fits again (0.60 + 0.40).
				const later = T0 + 15 * 60_000 + 1;
				expect(reasons(await store.caps.reserve([request(contact(14), spend(400_000))], later))).toEqual(['ok']);
				await store.caps.confirmReservation((c as { reservationId: string }).reservationId, later);
				// b's send is confirmed after all: it counts again (0.60 + 0.40 + 0.40 = 1.40 of 2.00).
				await store.caps.confirmReservation((b as { reservationId: string }).reservationId, later + 1);
				const twoPerDay = (units: number) => spend(units, { perDay: 2_000_000 });
				expect(reasons(await store.caps.reserve([request(contact(15), twoPerDay(700_000))], later + 2))).toEqual([
					`SPEND_BUDGET@${DAY + DAY_MS}`,
				]);
				expect(reasons(await store.caps.reserve([request(contact(15), twoPerDay(600_000))], later + 3))).toEqual([
					'ok',
				]);
			});

			test('per campaign: every message of the campaign counts, whatever the day; the limit never frees by waiting; other campaigns are apart', async () => {
				const inCampaign = (units: number, day: number, campaignId = 'spring') =>
					spend(units, { day, nextDay: day + DAY_MS, perDay: undefined, perCampaign: 1_000_000, campaignId });
				expect((await sendAt(request(contact(21), inCampaign(700_000, DAY)), T0)).allowed).toBe(true);
				expect(
					reasons(
						await store.caps.reserve(
							[
								request(contact(22), inCampaign(400_000, DAY + DAY_MS)),
								request(contact(23), inCampaign(300_000, DAY + DAY_MS)),
							],
							T0 + DAY_MS,
						),
					),
				).toEqual(['SPEND_BUDGET@null', 'ok']);
				expect(
					reasons(await store.caps.reserve([request(contact(24), inCampaign(400_000, DAY, 'autumn'))], T0 + 1)),
				).toEqual(['ok']);
				// A dry run decides the same and reserves nothing.
				expect(
					reasons(await store.caps.reserve([request(contact(25), { ...inCampaign(1, DAY), dryRun: true })], T0 + 2)),
				).toEqual(['SPEND_BUDGET@null']);
			});
		});

		test('a live process keeps its reservations however long its campaign takes (its lease is renewed)', async () => {
			const c = store.contactKey('+33612345603');
			const a = await backend.openAgain();
			expect((await a.caps.reserve([request(c)], T0))[0].allowed).toBe(true);
			await (a.caps as unknown as { renewLease(now: number): Promise<void> }).renewLease(T0 + 5 * 60_000);
			expect((await store.caps.reserve([request(c)], T0 + 5 * 60_000 + 1))[0]).toMatchObject({
				allowed: false,
				reason: 'RESERVED',
			});
			await a.close();
		});

		test('hourly and daily budgets of the phone number, with when a slot frees up', async () => {
			const budgets = { messagesPerHour: 2, messagesPerDay: 3 };
			const keys = ['+33600000001', '+33600000002', '+33600000003', '+33600000004'].map((n) => store.contactKey(n));
			const at = [T0, T0 + 60_000, T0 + 120_000];
			expect((await sendAt(request(keys[0], { budgets }), at[0])).allowed).toBe(true);
			expect((await sendAt(request(keys[1], { budgets }), at[1])).allowed).toBe(true);
			expect(await sendAt(request(keys[2], { budgets }), at[2])).toEqual({
				allowed: false,
				reason: 'HOURLY_BUDGET',
				nextAllowedAt: T0 + HOUR_MS,
			});
			expect((await sendAt(request(keys[2], { budgets }), T0 + HOUR_MS)).allowed).toBe(true);
			expect(await sendAt(request(keys[3], { budgets }), T0 + 3 * HOUR_MS)).toEqual({
				allowed: false,
				reason: 'DAILY_BUDGET',
				nextAllowedAt: T0 + DAY_MS,
			});
			// Another phone number has its own budget.
			expect((await sendAt(request(keys[3], { budgets, phoneNumberId: 'phone-2' }), T0 + 3 * HOUR_MS)).allowed).toBe(
				true,
			);
			// An unconfirmed reservation holds budget only until it lapses.
			const onPhone3 = (n: string) =>
				request(store.contactKey(n), {
					rule: undefined,
					budgets: { messagesPerHour: 1 },
					phoneNumberId: 'phone-3',
					reservationTtlMs: 60_000,
				});
			expect((await store.caps.reserve([onPhone3('+33611111111')], T0))[0].allowed).toBe(true);
			expect(await store.caps.reserve([onPhone3('+33622222222')], T0 + 59_999)).toEqual([
				{ allowed: false, reason: 'HOURLY_BUDGET', nextAllowedAt: T0 + HOUR_MS },
			]);
			expect((await store.caps.reserve([onPhone3('+33622222222')], T0 + 60_000))[0].allowed).toBe(true);
		});

		test('unique contacts per 24 h: a contact already reached costs no new slot', async () => {
			const budgets = { uniqueContactsPer24h: 2 };
			const rule = { maxCount: 10, windowMs: DAY_MS, minGapMs: 0 };
			const [a, b, c] = ['+33600000001', '+33600000002', '+33600000003'].map((n) => store.contactKey(n));
			expect((await sendAt(request(a, { budgets, rule }), T0)).allowed).toBe(true);
			expect((await sendAt(request(b, { budgets, rule }), T0 + 1000)).allowed).toBe(true);
			expect(await sendAt(request(c, { budgets, rule }), T0 + 2000)).toEqual({
				allowed: false,
				reason: 'UNIQUE_CONTACTS_LIMIT',
				nextAllowedAt: T0 + DAY_MS,
			});
			expect((await sendAt(request(a, { budgets, rule }), T0 + 3000)).allowed).toBe(true);
			// b (last reached at T0 + 1 s) leaves the window exactly 24 h later and frees a slot for c.
			expect(await sendAt(request(c, { budgets, rule }), T0 + 999 + DAY_MS)).toEqual({
				allowed: false,
				reason: 'UNIQUE_CONTACTS_LIMIT',
				nextAllowedAt: T0 + 1000 + DAY_MS,
			});
			expect((await sendAt(request(c, { budgets, rule }), T0 + 1000 + DAY_MS)).allowed).toBe(true);
		});

		test('within one batch, budgets count the batch’s own reservations, and a repeated contact costs one unique slot', async () => {
			const rule = { maxCount: 10, windowMs: DAY_MS, minGapMs: 0 };
			const [a, b, c] = ['+33600000001', '+33600000002', '+33600000003'].map((n) => store.contactKey(n));
			const unique = { uniqueContactsPer24h: 2 };
			const decisions = await store.caps.reserve(
				[
					request(a, { rule, budgets: unique }),
					request(a, { rule, budgets: unique }),
					request(b, { rule, budgets: unique }),
					request(c, { rule, budgets: unique }),
				],
				T0,
			);
			expect(decisions.map((d) => (d.allowed ? 'ok' : d.reason))).toEqual(['ok', 'ok', 'ok', 'UNIQUE_CONTACTS_LIMIT']);
			const hourly = { messagesPerHour: 5 };
			const more = await store.caps.reserve(
				[
					request(c, { rule, budgets: hourly }),
					request(c, { rule, budgets: hourly }),
					request(c, { rule, budgets: hourly }),
				],
				T0 + 1,
			);
			expect(more.map((d) => (d.allowed ? 'ok' : d.reason))).toEqual(['ok', 'ok', 'HOURLY_BUDGET']);
			expect(more[2]).toEqual({ allowed: false, reason: 'HOURLY_BUDGET', nextAllowedAt: T0 + HOUR_MS });
		});

		test('a Meta hold (131049) defers until it ends', async () => {
			const c = store.contactKey('+33612345678');
			await store.facts.holdContact(c, T0 + DAY_MS);
			// A marketing message (the hold is Meta's per-user marketing limit; utility goes: see below).
			expect(await store.caps.reserve([request(c, { rule: undefined, category: 'marketing' })], T0)).toEqual([
				{ allowed: false, reason: 'META_HOLD', nextAllowedAt: T0 + DAY_MS },
			]);
			expect((await store.caps.reserve([request(c)], T0 + DAY_MS))[0].allowed).toBe(true);
		});

		test('a dry run decides without reserving', async () => {
			const c = store.contactKey('+33612345678');
			expect(await store.caps.reserve([request(c, { dryRun: true })], T0)).toEqual([{ allowed: true }]);
			expect((await store.caps.reserve([request(c)], T0 + 1))[0].allowed).toBe(true);
		});

		test('an unconfirmed reservation expires by itself and frees the slot', async () => {
			const c = store.contactKey('+33612345678');
			const rule = { maxCount: 1, windowMs: DAY_MS, minGapMs: 0 };
			await store.caps.reserve([request(c, { rule, reservationTtlMs: 60_000 })], T0);
			expect((await store.caps.reserve([request(c, { rule })], T0 + 59_999))[0].allowed).toBe(false);
			expect((await store.caps.reserve([request(c, { rule })], T0 + 60_000))[0].allowed).toBe(true);
		});

		test('a confirmed reservation counts as a send at the confirmed time, even if confirmed after it lapsed', async () => {
			const c = store.contactKey('+33612345678');
			const rule = { maxCount: 1, windowMs: DAY_MS, minGapMs: 0 };
			const [reservation] = await store.caps.reserve([request(c, { rule, reservationTtlMs: 60_000 })], T0);
			// Another decision after expiry prunes the lapsed reservation before it is confirmed.
			await store.caps.reserve([request(store.contactKey('+33699999999'), { rule })], T0 + 120_000);
			expect(
				await store.caps.confirmReservation((reservation as { reservationId: string }).reservationId, T0 + 130_000),
			).toBe(true);
			expect(await store.caps.reserve([request(c, { rule })], T0 + 140_000)).toEqual([
				{ allowed: false, reason: 'CONTACT_CAP', nextAllowedAt: T0 + 130_000 + DAY_MS },
			]);
		});

		test('releasing a reservation frees its slot; a confirmed send cannot be released', async () => {
			const c = store.contactKey('+33612345678');
			const rule = { maxCount: 1, windowMs: DAY_MS, minGapMs: 0 };
			const [first] = await store.caps.reserve([request(c, { rule })], T0);
			expect(await store.caps.releaseReservation((first as { reservationId: string }).reservationId)).toBe(true);
			const [second] = await store.caps.reserve([request(c, { rule })], T0 + 1);
			expect(second.allowed).toBe(true);
			const id = (second as { reservationId: string }).reservationId;
			expect(await store.caps.confirmReservation(id, T0 + 2)).toBe(true);
			expect(await store.caps.releaseReservation(id)).toBe(false);
			expect((await store.caps.reserve([request(c, { rule })], T0 + 3))[0].allowed).toBe(false);
		});
	});

	describe('campaigns', () => {
		test('a recipient is claimed per campaign right before its request; one in flight is left alone until it expires', async () => {
			const c = store.contactKey('+33612345678');
			expect(await store.sends.claimSend('spring', c, T0, 60_000, 'run-1')).toEqual({ state: 'claimed' });
			// run-1's request is on the wire: nobody else may claim it until the claim times out…
			expect(await store.sends.claimSend('spring', c, T0 + 3, 60_000, 'run-3')).toEqual({ state: 'in_flight', at: T0 });
			// …but run-1 itself may retry it.
			expect(await store.sends.claimSend('spring', c, T0 + 5, 60_000, 'run-1')).toEqual({ state: 'claimed' });
			expect(await store.sends.claimSend('spring', c, T0 + 60_004, 60_000, 'run-3')).toEqual({
				state: 'in_flight',
				at: T0 + 5,
			});
			expect(await store.sends.claimSend('spring', c, T0 + 60_005, 60_000, 'run-3')).toEqual({ state: 'claimed' });
			await store.sends.completeSend('spring', c, 'wamid.ABC', T0 + 60_500);
			expect(await store.sends.claimSend('spring', c, T0 + 999_999, 60_000, 'run-4')).toEqual({
				state: 'sent',
				messageId: 'wamid.ABC',
				at: T0 + 60_500,
			});
			await store.sends.releaseClaim('spring', c, 'run-3');
			expect((await store.sends.claimSend('spring', c, T0 + 999_999, 60_000, 'run-4')).state).toBe('sent');
		});

		test('a claim is in flight at once; the states of many recipients are read at once', async () => {
			const [a, b, c, d, e] = ['+33612345671', '+33612345672', '+33612345673', '+33612345674', '+33612345675'].map(
				(n) => store.contactKey(n),
			);
			expect(await store.sends.claimSend('spring', a, T0, 60_000, 'run-1')).toEqual({ state: 'claimed' });
			// Already on the wire: another run may not take it, the owner may retry it.
			expect(await store.sends.claimSend('spring', a, T0 + 1, 60_000, 'run-2')).toEqual({
				state: 'in_flight',
				at: T0,
			});
			expect(await store.sends.claimSend('spring', a, T0 + 2, 60_000, 'run-1')).toEqual({ state: 'claimed' });
			await store.sends.claimSend('spring', b, T0, 60_000, 'run-1');
			await store.sends.completeSend('spring', b, 'wamid.B', T0 + 10);
			await store.sends.claimSend('spring', c, T0, 60_000, 'run-1');
			await store.sends.releaseClaim('spring', c, 'run-1'); // answered without accepting: given back
			await store.sends.claimSend('spring', d, T0 - 120_000, 60_000, 'run-0'); // in flight long ago, expired
			await store.sends.claimSend('autumn', e, T0, 60_000, 'run-1'); // another campaign

			const states = await store.sends.sendStates('spring', [a, b, c, d, e], T0 + 5);
			expect(Object.fromEntries(states)).toEqual({
				[a]: { state: 'in_flight', at: T0 + 2 },
				[b]: { state: 'sent', messageId: 'wamid.B', at: T0 + 10 },
			});
			// Once the claim times out, the recipient is free again.
			expect((await store.sends.sendStates('spring', [a], T0 + 60_003)).has(a)).toBe(false);
			expect((await store.sends.sendStates('spring', [], T0)).size).toBe(0);
		});

		test('a request with no answer is in doubt: never taken over, never expired, settled only by its status', async () => {
			const c = store.contactKey('+33612345699');
			await store.sends.claimSend('spring', c, T0, 60_000, 'run-1');
			await store.sends.markInDoubt('spring', c, 'run-1', T0 + 5);
			// Not by another run, not by the same run, not after the claim would have expired, not by a release.
			expect(await store.sends.claimSend('spring', c, T0 + 10, 60_000, 'run-2')).toEqual({
				state: 'in_doubt',
				at: T0 + 5,
			});
			expect(await store.sends.claimSend('spring', c, T0 + 10, 60_000, 'run-1')).toEqual({
				state: 'in_doubt',
				at: T0 + 5,
			});
			await store.sends.releaseClaim('spring', c, 'run-1');
			expect(Object.fromEntries(await store.sends.sendStates('spring', [c], T0 + 999_999_999))).toEqual({
				[c]: { state: 'in_doubt', at: T0 + 5 },
			});
			// Its status arrived: sent.
			await store.sends.completeSend('spring', c, 'wamid.LATE', T0 + 20);
			expect(await store.sends.claimSend('spring', c, T0 + 30, 60_000, 'run-3')).toEqual({
				state: 'sent',
				messageId: 'wamid.LATE',
				at: T0 + 20,
			});
		});

		test('an operator releases an in-doubt send, and only an in-doubt one', async () => {
			const [doubt, sent, flying] = ['+33612345601', '+33612345602', '+33612345603'].map((n) => store.contactKey(n));
			await store.sends.claimSend('spring', doubt, T0, 60_000, 'run-1');
			await store.sends.markInDoubt('spring', doubt, 'run-1', T0 + 5);
			await store.sends.claimSend('spring', sent, T0, 60_000, 'run-1');
			await store.sends.completeSend('spring', sent, 'wamid.S', T0 + 6);
			await store.sends.claimSend('spring', flying, T0, 60_000, 'run-1');
			expect(await store.sends.releaseInDoubt('spring', doubt)).toBe(true);
			expect(await store.sends.releaseInDoubt('spring', doubt)).toBe(false);
			expect(await store.sends.releaseInDoubt('spring', sent)).toBe(false);
			expect(await store.sends.releaseInDoubt('spring', flying)).toBe(false);
			expect(await store.sends.releaseInDoubt('autumn', doubt)).toBe(false);
			expect(await store.sends.claimSend('spring', doubt, T0 + 10, 60_000, 'run-2')).toEqual({ state: 'claimed' });
			expect(await store.sends.claimSend('spring', sent, T0 + 10, 60_000, 'run-2')).toMatchObject({ state: 'sent' });
			expect(await store.sends.claimSend('spring', flying, T0 + 10, 60_000, 'run-2')).toMatchObject({
				state: 'in_flight',
			});
		});

		test('campaigns are separate, and only the owner releases its claim', async () => {
			const c = store.contactKey('+33612345678');
			await store.sends.claimSend('spring', c, T0, 60_000, 'run-1');
			expect(await store.sends.claimSend('autumn', c, T0 + 1, 60_000, 'run-2')).toEqual({ state: 'claimed' });
			await store.sends.releaseClaim('spring', c, 'run-2');
			expect((await store.sends.claimSend('spring', c, T0 + 2, 60_000, 'run-2')).state).toBe('in_flight');
			await store.sends.releaseClaim('spring', c, 'run-1');
			expect(await store.sends.claimSend('spring', c, T0 + 3, 60_000, 'run-2')).toEqual({ state: 'claimed' });
		});

		test('counters add up per campaign', async () => {
			await store.campaigns.incrementCounters('spring', { sent: 2, 'failed:131026': 1, 'variant:A:sent': 2 });
			await store.campaigns.incrementCounters('spring', { sent: 3, delivered: 1, zero: 0 });
			await store.campaigns.incrementCounters('autumn', { sent: 7 });
			expect(await store.campaigns.counters('spring')).toEqual({
				sent: 5,
				'failed:131026': 1,
				'variant:A:sent': 2,
				delivered: 1,
			});
			expect(await store.campaigns.counters('nothing')).toEqual({});
		});

		test('pauses by campaign, phone number or globally; the first paused scope asked for is returned', async () => {
			expect(await store.campaigns.activePause([{ scope: 'campaign', id: 'spring' }])).toBeUndefined();
			const springPause: PauseState = {
				scope: 'campaign',
				id: 'spring',
				paused: true,
				reason: 'DELIVERY_RATE',
				at: T0,
				details: { deliveryRate: 0.82 },
			};
			await store.campaigns.setPause(springPause);
			await store.campaigns.setPause({
				scope: 'global',
				id: '*',
				paused: true,
				reason: 'ACCOUNT_RESTRICTION',
				at: T0 + 1,
			});
			expect(
				await store.campaigns.activePause([
					{ scope: 'campaign', id: 'spring' },
					{ scope: 'global', id: '*' },
				]),
			).toEqual(springPause);
			await store.campaigns.setPause({ scope: 'campaign', id: 'spring', paused: false, at: T0 + 2 });
			expect(
				await store.campaigns.activePause([
					{ scope: 'campaign', id: 'spring' },
					{ scope: 'phone', id: 'phone-1' },
					{ scope: 'global', id: '*' },
				]),
			).toMatchObject({ scope: 'global' });
			expect((await store.campaigns.pauses()).map((p) => [p.scope, p.paused])).toEqual([
				['global', true],
				['campaign', false],
			]);
		});
	});

	test('the throughput limiter spaces slots exactly 1/rate apart, carrying on across calls', async () => {
		const first = await store.limiter.acquireSendSlots('phone-1', 100, 3);
		const second = await store.limiter.acquireSendSlots('phone-1', 100, 2);
		expect(first.waits[0]).toBe(0);
		const slots = [...first.waits.map((w) => first.now + w), ...second.waits.map((w) => second.now + w)];
		// The second call continues exactly where the first left off.
		for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeCloseTo(10, 6);
		expect((await store.limiter.acquireSendSlots('phone-2', 100, 1)).waits).toEqual([0]);
	});

	test('departure window: at most `limit` departures from a number in any window, counted across store objects (processes)', async () => {
		const other = await backend.openAgain();
		try {
			const admits = [
				await store.limiter.admitDeparture('phone-dw', 3, 300),
				await other.limiter.admitDeparture('phone-dw', 3, 300),
				await store.limiter.admitDeparture('phone-dw', 3, 300),
			];
			expect(admits.map((a) => a.wait)).toEqual([0, 0, 0]);
			expect(new Set(admits.map((a) => a.ticket)).size).toBe(3);
			// The fourth, from either process, waits for the oldest to leave the window (and is not recorded).
			const { wait, ticket } = await other.limiter.admitDeparture('phone-dw', 3, 300);
			expect(wait).toBeGreaterThan(0);
			expect(wait).toBeLessThanOrEqual(300);
			expect(ticket).toBeUndefined();
			expect((await store.limiter.admitDeparture('phone-dw', 3, 300)).wait).toBeGreaterThan(0);
			// Another number has its own window.
			expect((await store.limiter.admitDeparture('phone-dw-2', 3, 300)).wait).toBe(0);
			await new Promise((resolve) => setTimeout(resolve, wait + 20));
			expect((await other.limiter.admitDeparture('phone-dw', 3, 300)).wait).toBe(0);
		} finally {
			await other.close();
		}
	});

	test('departure window: an admission asked again in place of one whose request never left holds one place, not two', async () => {
		const other = await backend.openAgain();
		try {
			const first = await store.limiter.admitDeparture('phone-dw-swap', 2, 60_000);
			expect((await other.limiter.admitDeparture('phone-dw-swap', 2, 60_000)).wait).toBe(0);
			// The window is full; the first one's request came too late to be used, so it asks again in
			// its place and is admitted, and the window is as full as before.
			const again = await store.limiter.admitDeparture('phone-dw-swap', 2, 60_000, first.ticket);
			expect(again.wait).toBe(0);
			expect(again.ticket).not.toBe(first.ticket);
			expect((await other.limiter.admitDeparture('phone-dw-swap', 2, 60_000)).wait).toBeGreaterThan(0);
			// A ticket no longer in the window (or another number's) frees nothing.
			expect((await other.limiter.admitDeparture('phone-dw-swap', 2, 60_000, first.ticket)).wait).toBeGreaterThan(0);
			const elsewhere = await store.limiter.admitDeparture('phone-dw-swap-2', 2, 60_000);
			expect((await store.limiter.admitDeparture('phone-dw-swap', 2, 60_000, elsewhere.ticket)).wait).toBeGreaterThan(
				0,
			);
		} finally {
			await other.close();
		}
	});

	test('webhook dedupe: a key is new once within its TTL', async () => {
		expect(await store.dedupe.markSeen(['wamid.1:delivered', 'wamid.1:read', 'wamid.1:delivered'], 60_000)).toEqual([
			true,
			true,
			false,
		]);
		expect(await store.dedupe.markSeen(['wamid.1:read', 'wamid.2:read'], 60_000)).toEqual([false, true]);
		expect(await store.dedupe.markSeen(['short'], 30)).toEqual([true]);
		await new Promise((resolve) => setTimeout(resolve, 60));
		expect(await store.dedupe.markSeen(['short'], 30)).toEqual([true]);
	});

	test('webhook commit: a fact counts once however many deliveries race with it; counters without a fact always apply; marks are set', async () => {
		const delivered = { delivered: 1, 'variant:A:delivered': 1 };
		// Two deliveries processed at once both took wamid.9's delivery for new (Meta's delivered and read
		// in concurrent POSTs): each commits it, with read counted on its own fact.
		await Promise.all([
			store.dedupe.commit(['s:wamid.9:delivered'], [{ fact: 'd:wamid.9', counters: [['race', delivered]] }], 60_000),
			store.dedupe.commit(
				['s:wamid.9:read'],
				[
					{ fact: 'd:wamid.9', counters: [['race', delivered]] },
					{ fact: 's:wamid.9:read', counters: [['race', { read: 1 }]] },
					{
						counters: [
							['race', { unattributed: 1 }],
							['other', { optOut: 1 }],
						],
					},
				],
				60_000,
			),
		]);
		expect(await store.campaigns.counters('race')).toEqual({
			delivered: 1,
			'variant:A:delivered': 1,
			read: 1,
			unattributed: 1,
		});
		expect(await store.campaigns.counters('other')).toEqual({ optOut: 1 });
		expect(await store.dedupe.seen(['s:wamid.9:delivered', 's:wamid.9:read', 'd:wamid.9', 'x'])).toEqual([
			true,
			true,
			true,
			false,
		]);
		// Meta retries the same POST later: nothing counts twice.
		await store.dedupe.commit(
			['s:wamid.9:read'],
			[{ fact: 's:wamid.9:read', counters: [['race', { read: 1 }]] }],
			60_000,
		);
		expect((await store.campaigns.counters('race')).read).toBe(1);
	});

	test('holds no plain phone number after consent, caps, campaigns and forget', async () => {
		const numbers = ['+33612345678', '+5511987654321', '+447400123456'];
		for (const number of numbers) {
			const c = store.contactKey(number);
			await store.ledger.recordConsent([
				{ contactKey: c, action: 'opt_in', categories: ['marketing'], at: T0, source: 'web-form' },
			]);
			await store.caps.reserve([request(c)], T0);
			await store.sends.claimSend('spring', c, T0, 60_000, 'run');
			await store.sends.completeSend('spring', c, 'wamid.X', T0);
			await store.facts.markUndeliverable(c, T0);
		}
		await store.ledger.forgetContact(store.contactKey(numbers[0]), T0);
		const raw = await backend.rawContent(store);
		expect(raw.length).toBeGreaterThan(0);
		for (const number of numbers) {
			expect(raw).not.toContain(number);
			expect(raw).not.toContain(number.slice(1));
			expect(raw).not.toContain(number.slice(-9));
		}
		expect(raw).toContain(store.contactKey(numbers[1]));
	});
});
