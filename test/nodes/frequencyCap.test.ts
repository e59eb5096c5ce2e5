import type { IDataObject } from 'n8n-workflow';

import { closeAllStores, openStore } from '../../nodes/store/openStore';
import { defaultSqlitePath, SqliteStore } from '../../nodes/store/SqliteStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { CloudApiSandbox } from '../sandbox/server.ts';

const CAP = 'Frequency Cap';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let sandbox: CloudApiSandbox;
beforeAll(async () => {
	sandbox = await CloudApiSandbox.start();
});
afterAll(async () => {
	jest.useRealTimers();
	await closeAllStores();
	await sandbox.close();
});

/** Only Date is faked: n8n-core's timers, sockets and the sandbox keep running in real time. */
function setClock(iso: string | number) {
	jest.useFakeTimers({
		doNotFake: [
			'hrtime',
			'nextTick',
			'performance',
			'queueMicrotask',
			'setImmediate',
			'clearImmediate',
			'setInterval',
			'clearInterval',
			'setTimeout',
			'clearTimeout',
		],
		now: typeof iso === 'number' ? iso : Date.parse(iso),
	});
}
afterEach(() => jest.useRealTimers());

let n = 0;
const fresh = (prefix = '+3368') => `${prefix}${String(1_000_000 + ++n).padStart(7, '0')}`;

async function cap(items: IDataObject[], parameters: IDataObject = {}) {
	const result = await runWorkflow('frequency-cap.json', {
		items,
		credentials: { whatsAppCloudApi: sandbox.credentials() },
		parameters: { [CAP]: parameters },
	});
	if (result.status !== 'success') throw new Error(`run failed: ${result.error?.message}`);
	const [sendNow, deferred] = result.outputs(CAP);
	const byItem = new Map(
		[...sendNow, ...deferred].map((i) => [(i.pairedItem as { item: number }).item, i.json.frequencyCap as IDataObject]),
	);
	return { sendNow, deferred, decision: (i: number) => byItem.get(i)! };
}

/** What WhatsApp Template Send will do on success; until it exists, through the store API. */
async function confirm(decision: IDataObject) {
	const store = await openStore({ kind: 'sqlite' });
	expect(await store.caps.confirmReservation(decision.reservationId as string, Date.now())).toBe(true);
}

const item = (e164: string, extra: IDataObject = {}) => ({ whatsapp: { e164 }, ...extra });

describe('WhatsApp Frequency Cap node', () => {
	test('marketing: 2 per rolling 24 h, at least 6 h apart, exact at the edges', async () => {
		const e164 = fresh();
		const T0 = Date.parse('2026-06-01T08:00:00Z');
		setClock(T0);
		const first = await cap([item(e164)]);
		expect(first.decision(0)).toEqual({
			allowed: true,
			category: 'marketing',
			reservationId: expect.any(String),
			reservedUntil: '2026-06-01T08:15:00.000Z',
			phoneNumberId: sandbox.defaultPhoneNumberId,
		});
		await confirm(first.decision(0));

		setClock(T0 + 6 * HOUR - 1);
		expect((await cap([item(e164)])).decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'MIN_GAP',
			nextAllowedAt: '2026-06-01T14:00:00.000Z',
		});
		setClock(T0 + 6 * HOUR);
		const second = await cap([item(e164)]);
		expect(second.decision(0).allowed).toBe(true);
		await confirm(second.decision(0));
		setClock(T0 + 12 * HOUR);
		expect((await cap([item(e164)])).decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'CONTACT_CAP',
			nextAllowedAt: '2026-06-02T08:00:00.000Z',
		});
		setClock(T0 + DAY - 1);
		expect((await cap([item(e164)])).decision(0).reason).toBe('CONTACT_CAP');
		setClock(T0 + DAY);
		expect((await cap([item(e164)])).decision(0).allowed).toBe(true);
	});

	test('utility has no per-contact rule by default', async () => {
		const e164 = fresh();
		setClock('2026-06-01T08:00:00Z');
		const { sendNow } = await cap([item(e164), item(e164), item(e164)], { category: 'utility' });
		expect(sendNow).toHaveLength(3);
	});

	test('an hourly budget defers the rest of the run with when a slot frees up', async () => {
		setClock('2026-06-02T10:00:00Z');
		const { sendNow, deferred, decision } = await cap([item(fresh()), item(fresh()), item(fresh()), item(fresh())], {
			budgets: { messagesPerHour: 2 },
			contactRules: {},
		});
		// The phone's other sends this hour (from earlier tests at other times) do not count: only 10:00 onwards.
		expect(sendNow).toHaveLength(2);
		expect(deferred).toHaveLength(2);
		// Both slots were taken at 10:00, so the next frees at 11:00.
		expect(decision(2)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'HOURLY_BUDGET',
			nextAllowedAt: '2026-06-02T11:00:00.000Z',
		});
	});

	test('the unique-contacts tier is read from the WhatsApp API (cached), and enforced', async () => {
		sandbox.phoneNumbers.get(sandbox.defaultPhoneNumberId)!.messagingLimit = 'TIER_250';
		sandbox.resetLog();
		setClock('2026-06-03T10:00:00Z');
		const contacts = Array.from({ length: 251 }, () => item(fresh('+3365')));
		const first = await cap(contacts.slice(0, 200), { budgets: { uniqueContactsTier: 'fromApi' }, contactRules: {} });
		expect(first.sendNow).toHaveLength(200);
		const second = await cap(contacts.slice(200), { budgets: { uniqueContactsTier: 'fromApi' }, contactRules: {} });
		expect(second.sendNow).toHaveLength(50);
		expect(second.decision(50)).toMatchObject({ allowed: false, reason: 'UNIQUE_CONTACTS_LIMIT' });
		// Meta allows ~200 management calls per hour: the tier was asked once for both executions.
		expect(sandbox.requests.filter((r) => r.query.fields === 'whatsapp_business_manager_messaging_limit')).toHaveLength(
			1,
		);
		sandbox.phoneNumbers.get(sandbox.defaultPhoneNumberId)!.messagingLimit = 'TIER_10K';
	});

	test('quiet hours in the contact’s local time: across midnight, across the DST change, by zone field, country or fallback', async () => {
		// 21:30 UTC on the night Paris springs forward: 22:30 in Paris, 06:30 the next morning in Tokyo.
		setClock('2026-03-28T21:30:00Z');
		const items = [
			item(fresh('+3361')),
			item(`+8190${String(10_000_000 + ++n)}`),
			item(`+1415555${String(1000 + (++n % 9000))}`, { timezone: 'America/Los_Angeles' }),
			item(`+1212555${String(1000 + (++n % 9000))}`),
			item(fresh('+3362'), { kind: 'otp' }),
		];
		const { decision } = await cap(items, {
			quietHours: true,
			quietStart: '21:00',
			quietEnd: '09:00',
			contactTimeZone: '={{ $json.timezone }}',
			fallbackTimeZone: 'America/New_York',
			category: '={{ $json.kind === "otp" ? "authentication" : "marketing" }}',
		});
		expect(decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'QUIET_HOURS',
			nextAllowedAt: '2026-03-29T07:00:00.000Z',
			timeZone: 'Europe/Paris',
			timeZoneFrom: 'country',
		});
		expect(decision(1)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'QUIET_HOURS',
			nextAllowedAt: '2026-03-29T00:00:00.000Z',
			timeZone: 'Asia/Tokyo',
			timeZoneFrom: 'country',
		});
		expect(decision(2)).toMatchObject({ allowed: true });
		expect(decision(3)).toMatchObject({ allowed: true });
		expect(decision(4)).toMatchObject({ allowed: true, category: 'authentication' });
	});

	test('a Meta hold (131049) recorded in the store defers until it ends', async () => {
		const e164 = fresh();
		setClock('2026-06-04T10:00:00Z');
		const store = await openStore({ kind: 'sqlite' });
		await store.facts.holdContact(store.contactKey(e164), Date.parse('2026-06-05T10:00:00Z'));
		expect((await cap([item(e164)])).decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'META_HOLD',
			nextAllowedAt: '2026-06-05T10:00:00.000Z',
		});
	});

	test('an unconfirmed reservation expires by itself; a released one frees the slot at once', async () => {
		const e164 = fresh();
		const oncePerDay = {
			contactRules: { rule: [{ category: 'marketing', maxCount: 1, windowHours: 24, minGapHours: 0 }] },
			options: { reservationMinutes: 1 },
		};
		setClock('2026-06-05T10:00:00Z');
		const first = await cap([item(e164)], oncePerDay);
		expect(first.decision(0).allowed).toBe(true);
		expect((await cap([item(e164)], oncePerDay)).decision(0).reason).toBe('CONTACT_CAP');
		setClock('2026-06-05T10:01:00Z');
		const again = await cap([item(e164)], oncePerDay);
		expect(again.decision(0).allowed).toBe(true);
		const store = await openStore({ kind: 'sqlite' });
		expect(await store.caps.releaseReservation(again.decision(0).reservationId as string)).toBe(true);
		expect((await cap([item(e164)], oncePerDay)).decision(0).allowed).toBe(true);
	});

	test('a contact held only by another n8n process’s reservation is RESERVED; once that process is dead (lease lapsed), the campaign reaches them', async () => {
		const e164 = fresh();
		setClock('2026-06-05T12:00:00Z');
		// Another n8n process on this store file (a queue-mode worker) reserves, then is killed.
		const worker = SqliteStore.open(defaultSqlitePath());
		const [reserved] = await worker.caps.reserve(
			[
				{
					contactKey: worker.contactKey(e164),
					category: 'marketing',
					phoneNumberId: sandbox.defaultPhoneNumberId,
					rule: { maxCount: 2, windowMs: DAY, minGapMs: 6 * HOUR },
					reservationTtlMs: 15 * 60_000,
				},
			],
			Date.now(),
		);
		expect(reserved.allowed).toBe(true);
		await worker.close();
		setClock('2026-06-05T12:00:10Z');
		expect((await cap([item(e164)])).decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'RESERVED',
			nextAllowedAt: '2026-06-05T12:15:00.000Z',
		});
		// Its lease (30 s) has lapsed: the person it never messaged is reached now, not at 12:15.
		setClock('2026-06-05T12:01:00Z');
		expect((await cap([item(e164)])).decision(0)).toMatchObject({ allowed: true, reservationId: expect.any(String) });
	});

	test('a dry run decides without reserving', async () => {
		const e164 = fresh();
		setClock('2026-06-06T10:00:00Z');
		const dry = {
			contactRules: { rule: [{ category: 'marketing', maxCount: 1, windowHours: 24, minGapHours: 0 }] },
			options: { dryRun: true },
		};
		expect((await cap([item(e164)], dry)).decision(0)).toEqual({ allowed: true, category: 'marketing', dryRun: true });
		expect((await cap([item(e164)], dry)).decision(0)).toEqual({ allowed: true, category: 'marketing', dryRun: true });
	});

	test('unusable numbers are deferred with their reason, and every item leaves through one output', async () => {
		setClock('2026-06-07T10:00:00Z');
		const { sendNow, deferred, decision } = await cap([item('n/a'), item(fresh()), {}]);
		expect(sendNow.length + deferred.length).toBe(3);
		expect(decision(0)).toEqual({
			allowed: false,
			category: 'marketing',
			reason: 'INVALID_NUMBER',
			detail: 'NOT_A_NUMBER',
			nextAllowedAt: null,
		});
		expect(decision(2)).toMatchObject({ reason: 'INVALID_NUMBER', detail: 'EMPTY' });
	});

	test('configuration mistakes stop the run with what to fix', async () => {
		const bad = await runWorkflow('frequency-cap.json', {
			items: [item(fresh())],
			credentials: { whatsAppCloudApi: sandbox.credentials() },
			parameters: { [CAP]: { quietHours: true, quietStart: '9pm' } },
		});
		expect(bad.error?.message).toBe('Quiet hours: "9pm" is not a time like 21:00');
		const twice = await runWorkflow('frequency-cap.json', {
			items: [item(fresh())],
			credentials: { whatsAppCloudApi: sandbox.credentials() },
			parameters: {
				[CAP]: {
					contactRules: {
						rule: [
							{ category: 'marketing', maxCount: 1, windowHours: 24, minGapHours: 0 },
							{ category: 'marketing', maxCount: 2, windowHours: 24, minGapHours: 0 },
						],
					},
				},
			},
		});
		expect(twice.error?.message).toBe('Two per-contact rules for marketing: keep one');
	});
});
