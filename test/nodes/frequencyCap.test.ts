import type { IDataObject } from 'n8n-workflow';

import { closeAllStores, openStore } from '../../nodes/store/openStore';
import { defaultSqlitePath, SqliteStore } from '../../nodes/store/SqliteStore';
import { readWorkflow, runWorkflow } from '../harness/WorkflowHarness';
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

	describe('spend budget (rate card, as if delivered)', () => {
		// An operator's own card (no rates are ours): France and Brazil marketing, any country's utility.
		const rateCard = 'country,category,rate\nFR,marketing,0.0859\nBR,marketing,0.0625\n*,utility,0.008';
		/** The workflow with its time zone set, as in the editor's workflow settings. */
		const inZone = (timezone: string) => {
			const workflow = readWorkflow('frequency-cap.json');
			workflow.settings = { ...workflow.settings, timezone };
			return workflow;
		};
		const run = async (items: IDataObject[], spendBudget: IDataObject, parameters: IDataObject = {}) => {
			const result = await runWorkflow(inZone('Europe/Paris'), {
				items,
				credentials: { whatsAppCloudApi: sandbox.credentials() },
				parameters: {
					[CAP]: {
						contactRules: {},
						spendBudget: { rateCard, rateCardCurrency: 'EUR', ...spendBudget },
						...parameters,
					},
				},
			});
			if (result.status !== 'success') throw new Error(`run failed: ${result.error?.message}`);
			const [sendNow, deferred] = result.outputs(CAP);
			const byItem = new Map(
				[...sendNow, ...deferred].map((i) => [
					(i.pairedItem as { item: number }).item,
					i.json.frequencyCap as IDataObject,
				]),
			);
			return { sendNow, deferred, decision: (i: number) => byItem.get(i)! };
		};

		test('per day in the workflow’s time zone: French marketing at 0.0859 fits three times in 0.33, the fourth waits for local midnight; a Brazilian number is priced at its own rate; utility is cheap', async () => {
			// 23:30 in Paris on 3 June is 21:30 UTC; the spend day ends at Paris midnight (22:00 UTC).
			setClock('2026-06-03T21:30:00Z');
			const fr = [fresh(), fresh(), fresh(), fresh()].map((e164) => item(e164));
			const first = await run(fr, { perDay: 0.33 });
			expect(first.sendNow).toHaveLength(3);
			expect(first.decision(0)).toMatchObject({ allowed: true, estimatedCost: { amount: 0.0859, currency: 'EUR' } });
			expect(first.decision(3)).toEqual({
				allowed: false,
				category: 'marketing',
				reason: 'SPEND_BUDGET',
				spendLimit: 'perDay',
				estimatedCost: { amount: 0.0859, currency: 'EUR' },
				nextAllowedAt: '2026-06-03T22:00:00.000Z',
			});
			// 0.2577 spent: 0.0625 for Brazil still fits (0.3202), France again would not (0.4061).
			const br = await run([item('+5511987654321'), item(fresh())], { perDay: 0.33 });
			expect(br.decision(0)).toMatchObject({ allowed: true, estimatedCost: { amount: 0.0625 } });
			expect(br.decision(1)).toMatchObject({ allowed: false, reason: 'SPEND_BUDGET' });
			// A utility message at 0.008 (the card's * rate) still fits: 0.3282.
			const utility = await run([item(fresh())], { perDay: 0.33 }, { category: 'utility' });
			expect(utility.decision(0)).toMatchObject({ allowed: true, estimatedCost: { amount: 0.008 } });
			// After Paris midnight a new day's budget.
			setClock('2026-06-03T22:00:00Z');
			expect((await run([item(fresh())], { perDay: 0.33 })).decision(0)).toMatchObject({ allowed: true });
		});

		test('per campaign: the campaign stops at its budget whatever the day (no date to wait for), another campaign goes on', async () => {
			setClock('2026-06-05T09:00:00Z');
			const budget = { perCampaign: 0.2, campaignId: 'june-promo' };
			const first = await run([item(fresh()), item(fresh()), item(fresh())], budget);
			expect(first.sendNow).toHaveLength(2);
			expect(first.decision(2)).toMatchObject({
				reason: 'SPEND_BUDGET',
				spendLimit: 'perCampaign',
				nextAllowedAt: null,
			});
			// Confirmed sends keep counting the next day.
			for (const i of [0, 1]) await confirm(first.decision(i));
			setClock('2026-06-06T09:00:00Z');
			expect((await run([item(fresh())], budget)).decision(0)).toMatchObject({ reason: 'SPEND_BUDGET' });
			expect((await run([item(fresh())], { perCampaign: 0.2, campaignId: 'july-promo' })).decision(0)).toMatchObject({
				allowed: true,
			});
		});

		test('a recipient the card has no rate for is Deferred UNPRICED under a limit (never let through on a guess), and passes without one', async () => {
			setClock('2026-06-07T09:00:00Z');
			const us = item('+12025550143');
			const limited = await run([us], { perDay: 100 });
			expect(limited.decision(0)).toEqual({
				allowed: false,
				category: 'marketing',
				reason: 'UNPRICED',
				detail: 'The rate card has no marketing rate for US and no *: add one to send under a spend limit',
				nextAllowedAt: null,
			});
			const unlimited = await run([item('+12025550144')], {});
			expect(unlimited.decision(0)).toMatchObject({ allowed: true });
			expect(unlimited.decision(0).estimatedCost).toBeUndefined();
		});

		test('limits without a rate card, or a campaign limit without its campaign, stop the run with what to fix', async () => {
			const noCard = await runWorkflow('frequency-cap.json', {
				items: [item(fresh())],
				credentials: { whatsAppCloudApi: sandbox.credentials() },
				parameters: { [CAP]: { spendBudget: { perDay: 10 } } },
			});
			expect(noCard.error?.message).toBe('Spend Budget: add your Rate Card, which the spend limits are counted with');
			const noCampaign = await run([item(fresh())], { perCampaign: 10 }).catch((error: Error) => error.message);
			expect(noCampaign).toBe('run failed: Spend Budget: Per Campaign needs the Campaign ID it counts');
		});
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
