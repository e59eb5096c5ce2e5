import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import Redis from 'ioredis';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { closeAllStores } from '../../nodes/store/openStore';
import { runWorkflow, type RunOptions } from '../harness/WorkflowHarness';
import { startRedisServer, type RedisServer, TEST_CONTACT_KEY_SECRET } from '../helpers/redisServer';

const GATE = 'Consent Gate';
const DAY = 86_400_000;

let redis: RedisServer;
beforeAll(async () => {
	redis = await startRedisServer();
});
afterAll(async () => {
	await closeAllStores();
	await redis.stop();
});

interface Backend {
	name: string;
	store: IDataObject;
	credentials: () => Record<string, ICredentialDataDecryptedObject>;
	rawContent: () => Promise<string>;
}

const backends: Backend[] = [
	{
		name: 'built-in store',
		store: { store: 'builtIn' },
		credentials: () => ({}),
		rawContent: async () => {
			const file = process.env.WHATSAPP_COMPLIANCE_DB!;
			return readdirSync(path.dirname(file))
				.filter((f) => f.startsWith(path.basename(file)))
				.map((f) => readFileSync(path.join(path.dirname(file), f)).toString('latin1'))
				.join('\n');
		},
	},
	{
		name: 'Redis store',
		store: { store: 'redis' },
		credentials: () => ({
			whatsAppComplianceRedisApi: {
				host: redis.host,
				port: redis.port,
				database: 0,
				tls: false,
				prefix: 'cg:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			},
		}),
		rawContent: async () => {
			const client = new Redis({ host: redis.host, port: redis.port });
			const dump: string[] = [];
			for (const key of await client.keys('cg:*')) {
				dump.push(key);
				const type = await client.type(key);
				if (type === 'string') dump.push(String(await client.get(key)));
				if (type === 'list') dump.push(...(await client.lrange(key, 0, -1)));
				if (type === 'hash') dump.push(JSON.stringify(await client.hgetall(key)));
			}
			await client.quit();
			return dump.join('\n');
		},
	},
];

describe.each(backends)('WhatsApp Consent Gate with the $name', (backend) => {
	let n = 0;
	/** A fresh French mobile per test, so tests do not see each other's consent. */
	const number = () => `+3367${String(1_000_000 + ++n + (backend.name === 'Redis store' ? 500 : 0)).padStart(7, '0')}`;
	const used: string[] = [];
	const fresh = () => {
		const e164 = number();
		used.push(e164);
		return e164;
	};

	const gate = (
		operation: string,
		items: IDataObject[],
		parameters: IDataObject = {},
		extra: Partial<RunOptions> = {},
	) =>
		runWorkflow('consent-check.json', {
			items,
			credentials: backend.credentials(),
			parameters: { [GATE]: { ...backend.store, operation, ...parameters } },
			...extra,
		});
	const check = async (items: IDataObject[], parameters: IDataObject = {}) => {
		const result = await gate('check', items, parameters);
		expect(result.status).toBe('success');
		const [allowed, blocked] = result.outputs(GATE);
		return {
			allowed,
			blocked,
			consent: (i: number) =>
				[...allowed, ...blocked].find((x) => (x.pairedItem as { item: number }).item === i)!.json
					.consent as IDataObject,
		};
	};
	const contact = (e164: string, extra: IDataObject = {}) => ({ whatsapp: { e164 }, whatsappOptIn: true, ...extra });

	test('blocks a contact who replied STOP even when the CRM says opted in', async () => {
		const stopped = fresh();
		const other = fresh();
		const out = await runWorkflow('consent-record.json', {
			items: [{ phone: `0${stopped.slice(3)}` }],
			credentials: backend.credentials(),
			parameters: { [GATE]: backend.store },
		});
		expect(out.json(GATE)[0].consent).toMatchObject({ recorded: true, action: 'opt_out', categories: ['all'] });

		const { allowed, blocked, consent } = await check([contact(stopped), contact(other)]);
		expect(allowed.map((i) => i.pairedItem)).toEqual([{ item: 1 }]);
		expect(blocked.map((i) => i.pairedItem)).toEqual([{ item: 0 }]);
		expect(consent(0)).toMatchObject({
			allowed: false,
			category: 'marketing',
			reason: 'OPTED_OUT',
			since: expect.stringMatching(/^\d{4}-/),
		});
		expect(consent(1)).toEqual({ allowed: true, category: 'marketing', basis: 'crm', optInAt: null });
	});

	test('a marketing opt-out still allows utility messages', async () => {
		const e164 = fresh();
		await gate('recordOptOut', [{ whatsapp: { e164 } }], {
			optOutCategories: ['marketing'],
			source: 'crm-unsubscribe',
		});
		expect((await check([contact(e164)])).consent(0)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect((await check([contact(e164)], { category: 'utility' })).consent(0)).toMatchObject({
			allowed: true,
			category: 'utility',
		});
	});

	test('ledger consent, when the CRM alone is not enough', async () => {
		const recorded = fresh();
		const crmOnly = fresh();
		await gate('recordOptIn', [{ whatsapp: { e164: recorded } }], {
			optInCategories: ['marketing', 'utility'],
			source: 'web-form',
			wording: 'I agree to receive offers from Café Lumière on WhatsApp',
			businessName: 'Café Lumière',
			collectedBy: 'signup form',
		});
		const { consent } = await check([contact(recorded), contact(crmOnly)], { crmIsEnough: false });
		expect(consent(0)).toMatchObject({ allowed: true, basis: 'crm+ledger' });
		expect(consent(1)).toMatchObject({ allowed: false, reason: 'NO_OPT_IN' });
	});

	test('maximum consent age and inactivity cut-off', async () => {
		const old = fresh();
		const recent = fresh();
		const items = [
			contact(old, { optInDate: new Date(Date.now() - 400 * DAY).toISOString() }),
			contact(recent, { optInDate: new Date(Date.now() - 10 * DAY).toISOString() }),
		];
		const aged = await check(items, { checkOptions: { maxConsentAgeMonths: 12 } });
		expect(aged.consent(0)).toMatchObject({ allowed: false, reason: 'CONSENT_EXPIRED' });
		expect(aged.consent(1)).toMatchObject({ allowed: true });
		const inactive = await check(items, { checkOptions: { inactivityDays: 30 } });
		expect(inactive.consent(0)).toMatchObject({ allowed: false, reason: 'INACTIVE' });
		expect(inactive.consent(1)).toMatchObject({ allowed: true });
	});

	test('the inactivity cut-off applies to marketing unless the operator adds other categories', async () => {
		const quiet = fresh();
		const items = [contact(quiet, { optInDate: new Date(Date.now() - 400 * DAY).toISOString() })];
		const otp = await check(items, { category: 'authentication', checkOptions: { inactivityDays: 30 } });
		expect(otp.consent(0)).toMatchObject({ allowed: true, category: 'authentication' });
		const promo = await check(items, { category: 'marketing', checkOptions: { inactivityDays: 30 } });
		expect(promo.consent(0)).toMatchObject({ allowed: false, reason: 'INACTIVE' });
		const utility = await check(items, {
			category: 'utility',
			checkOptions: { inactivityDays: 30, inactivityCategories: ['marketing', 'utility'] },
		});
		expect(utility.consent(0)).toMatchObject({ allowed: false, reason: 'INACTIVE' });
	});

	test('a forgotten contact is blocked as FORGOTTEN until a fresh opt-in is recorded after the erasure', async () => {
		const person = fresh();
		await gate('recordOptIn', [{ whatsapp: { e164: person } }], {
			consentAt: new Date(Date.now() - DAY).toISOString(),
		});
		await gate('forget', [{ whatsapp: { e164: person } }]);
		expect((await check([contact(person)])).consent(0)).toMatchObject({ allowed: false, reason: 'FORGOTTEN' });
		await gate('recordOptIn', [{ whatsapp: { e164: person } }]);
		expect((await check([contact(person)])).consent(0)).toMatchObject({ allowed: true });
	});

	test('the opt-in must name the business when required', async () => {
		const named = fresh();
		const unnamed = fresh();
		await gate('recordOptIn', [{ whatsapp: { e164: named } }], {
			wording: 'Oui, CAFE LUMIERE peut m’envoyer ses offres',
		});
		await gate('recordOptIn', [{ whatsapp: { e164: unnamed } }], { wording: 'Yes, send me offers' });
		const { consent } = await check([{ whatsapp: { e164: named } }, { whatsapp: { e164: unnamed } }], {
			useCrmConsent: false,
			checkOptions: { businessName: 'Café Lumière' },
		});
		expect(consent(0)).toMatchObject({ allowed: true, basis: 'ledger' });
		expect(consent(1)).toMatchObject({ allowed: false, reason: 'BUSINESS_NOT_NAMED' });
	});

	test('unusable numbers are blocked as INVALID_NUMBER, not thrown', async () => {
		const { blocked, consent } = await check([{ whatsapp: { e164: 'n/a' } }, { name: 'no number at all' }]);
		expect(blocked).toHaveLength(2);
		expect(consent(0)).toMatchObject({ allowed: false, reason: 'INVALID_NUMBER', detail: 'NOT_A_NUMBER' });
		expect(consent(1)).toMatchObject({ allowed: false, reason: 'INVALID_NUMBER', detail: 'EMPTY' });
	});

	test('the opt-out-rate guard warns by default and stops when configured', async () => {
		const numbers = Array.from({ length: 20 }, () => fresh());
		await gate(
			'importSuppression',
			numbers.slice(0, 2).map((e164) => ({ whatsapp: { e164 } })),
		);
		const items = numbers.map((e164) => contact(e164));
		const warned = await check(items);
		expect(warned.blocked).toHaveLength(2);
		expect(warned.consent(5).optOutRateWarning).toBe(
			'10.0 % of the 20 items are opted out (threshold 3 %): OPTED_OUT 2',
		);
		const stopped = await gate('check', items, { checkOptions: { optOutRateAction: 'stop' } });
		expect(stopped.status).toBe('error');
		expect(stopped.error?.message).toBe(
			'Opt-out rate check: 10.0 % of the 20 items are opted out (threshold 3 %): OPTED_OUT 2',
		);
	});

	test('history lists the ledger in order; forgetting erases it but keeps the contact suppressed', async () => {
		const e164 = fresh();
		await gate('recordOptIn', [{ whatsapp: { e164 } }], {
			consentAt: '2026-01-05T10:00:00Z',
			source: 'paper',
			wording: 'Signed form',
			collectedBy: 'shop assistant',
		});
		await gate('recordOptOut', [{ whatsapp: { e164 } }], { consentAt: '2026-03-01T09:00:00Z', source: 'call-centre' });
		await gate('recordOptIn', [{ whatsapp: { e164 } }], { consentAt: '2025-12-01T08:00:00Z', source: 'web-form' });
		const history = (await gate('getHistory', [{ whatsapp: { e164 } }])).json(GATE)[0].consent as IDataObject;
		expect((history.history as IDataObject[]).map((e) => [e.action, e.category, e.at, e.source])).toEqual([
			['opt_in', 'marketing', '2025-12-01T08:00:00.000Z', 'web-form'],
			['opt_in', 'marketing', '2026-01-05T10:00:00.000Z', 'paper'],
			['opt_out', 'all', '2026-03-01T09:00:00.000Z', 'call-centre'],
		]);
		expect((history.history as IDataObject[])[1]).toMatchObject({
			wording: 'Signed form',
			collectedBy: 'shop assistant',
		});

		const forgotten = (await gate('forget', [{ whatsapp: { e164 } }])).json(GATE)[0].consent;
		expect(forgotten).toEqual({ forgotten: true, eventsDeleted: 3, stillSuppressed: true });
		const after = (await gate('getHistory', [{ whatsapp: { e164 } }])).json(GATE)[0].consent as IDataObject;
		expect(after.history).toEqual([]);
		expect((after.suppressions as IDataObject[]).length).toBe(3);
		expect((await check([contact(e164)])).consent(0)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});

	test('record operations report unusable input per item and record the rest', async () => {
		const e164 = fresh();
		const out = await gate(
			'recordOptIn',
			[{ whatsapp: { e164: '+3312' } }, { whatsapp: { e164 }, when: 'next tuesday' }, { whatsapp: { e164 } }],
			{ consentAt: '={{ $json.when }}' },
		);
		expect(out.json(GATE).map((j) => j.consent)).toEqual([
			{ recorded: false, reason: 'INVALID_NUMBER', detail: 'TOO_SHORT' },
			{ recorded: false, reason: 'INVALID_DATE', detail: '"next tuesday" is not a date' },
			{ recorded: true, action: 'opt_in', categories: ['marketing'], at: expect.any(String) },
		]);
	});

	test('the store holds no plain phone number after all of the above', async () => {
		const raw = await backend.rawContent();
		expect(raw.length).toBeGreaterThan(100);
		for (const e164 of used) {
			expect(raw).not.toContain(e164);
			expect(raw).not.toContain(e164.slice(1));
			expect(raw).not.toContain(e164.slice(3));
		}
	});
});
