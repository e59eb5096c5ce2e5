/**
 * Signed deliveries with updates that are not Meta's shape (the probes of issue #18): each update is
 * handled on its own, the bad ones are reported on the Alert output, the rest are applied, and Meta
 * gets its 200 so it does not retry what was applied. Posted over a real socket to the trigger.
 */
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { sign, useMonitorLoop } from '../harness/monitorLoop';
import { metaJson } from '../sandbox/server.ts';

const monitorLoop = useMonitorLoop();
const ts = () => String(Math.floor(Date.now() / 1000));
let seq = 0;

const envelope = (field: string, value: unknown) => ({
	object: 'whatsapp_business_account',
	entry: [{ id: '102290129340398', changes: [{ field, value }] }],
});
const messages = (...items: unknown[]) =>
	envelope('messages', {
		messaging_product: 'whatsapp',
		metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
		messages: items,
	});
const text = (from: string, body: unknown) => ({
	from,
	id: `wamid.shape.${++seq}`,
	timestamp: ts(),
	type: 'text',
	text: { body },
});

async function post(value: unknown) {
	const body = metaJson(value);
	const executionsBefore = monitorLoop().host.executions.length;
	const response = await fetch(monitorLoop().host.url, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sign(body) },
		body,
	});
	return { status: response.status, execution: monitorLoop().host.executions[executionsBefore] };
}

async function consent(e164: string) {
	const check = await runWorkflow('consent-check.json', {
		items: [{ whatsapp: { e164 }, whatsappOptIn: true }],
		parameters: { 'Consent Gate': {} },
	});
	return ((check.json('Consent Gate', 0)[0] ?? check.json('Consent Gate', 1)[0]).consent ?? {}) as IDataObject;
}

describe('Delivery Monitor: per-update handling of signed deliveries', () => {
	test('a message whose text is a number, then a STOP, in one POST: 200, the STOP is recorded, the bad one is reported', async () => {
		const from = '33612348001';
		const { status, execution } = await post(messages(text(from, 12345), text(from, 'STOP')));
		expect(status).toBe(200);
		expect(execution[3].map((i) => i.json)).toEqual([
			expect.objectContaining({ alert: 'INVALID_UPDATE', field: 'messages', reason: 'text.body is not a string' }),
		]);
		expect(execution[2][0].json).toMatchObject({ kind: 'opt_out', from: `+${from}` });
		expect(await consent(`+${from}`)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});

	test('a status dated in the year 5138 is reported, not stored; the campaign sends to that recipient as usual', async () => {
		const recipient = '+33612348002';
		const bad = envelope('messages', {
			messaging_product: 'whatsapp',
			metadata: { phone_number_id: '106540352242922' },
			statuses: [
				{
					id: 'wamid.future',
					status: 'delivered',
					timestamp: '99999999999999',
					recipient_id: recipient.slice(1),
					biz_opaque_callback_data: 'shape-future|A',
				},
			],
		});
		const { status, execution } = await post(bad);
		expect(status).toBe(200);
		expect(execution[3][0].json).toMatchObject({ alert: 'INVALID_UPDATE', reason: expect.stringMatching(/timestamp/) });
		const [sent] = await monitorLoop().sendCampaign('shape-future', [recipient]);
		expect(sent).toHaveLength(1);
	});

	test('signed bodies with wrong types anywhere (strings for objects, nulls, arrays): never a 5xx, nothing marked, the same ids count later', async () => {
		const status = (over: Record<string, unknown>) => ({
			id: 'wamid.typed.1',
			status: 'delivered',
			timestamp: ts(),
			recipient_id: '33612348009',
			biz_opaque_callback_data: 'shape-typed|A',
			...over,
		});
		const bodies: unknown[] = [
			envelope('messages', { statuses: 'delivered' }),
			envelope('messages', { statuses: [null] }),
			envelope('messages', { statuses: [[1, 2]] }),
			envelope('messages', { statuses: [status({ id: 5 })] }),
			envelope('messages', { statuses: [status({ status: ['delivered'] })] }),
			envelope('messages', { statuses: [status({ timestamp: {} })] }),
			envelope('messages', { statuses: [status({ recipient_id: [] })] }),
			envelope('messages', { statuses: [status({ status: 'failed', errors: 'x' })] }),
			envelope('messages', { statuses: [status({ status: 'failed', errors: [{ code: 'abc' }] })] }),
			envelope('messages', { statuses: [status({ recipient_user_id: {} })] }),
			envelope('messages', { messages: {} }),
			envelope('messages', { messages: [1] }),
			messages({ ...text('33612348009', 'STOP'), id: null }),
			messages({ ...text('33612348009', 'STOP'), from: { a: 1 } }),
			messages({ ...text('33612348009', 'STOP'), timestamp: null }),
			messages({ ...text('33612348009', 'STOP'), type: 5 }),
			messages({
				...text('33612348009', 'STOP'),
				type: 'system',
				system: { type: 'user_changed_user_id', user_id: 7 },
			}),
			envelope('messages', null),
			envelope('messages', 'x'),
			envelope('user_preferences', {
				user_preferences: [{ wa_id: [], category: 'marketing_messages', value: 'stop' }],
			}),
			envelope('user_preferences', { user_preferences: 'stop' }),
			{ object: 'whatsapp_business_account', entry: [{ changes: {} }] },
			{ object: 'whatsapp_business_account', entry: [null] },
		];
		// A well-formed envelope is answered 200 whatever its updates hold (the bad ones go to Alert).
		for (const body of bodies) {
			const { status: code } = await post(body);
			expect({ code, body: JSON.stringify(body).slice(0, 160) }).toEqual({ code: 200, body: expect.any(String) });
		}
		// An envelope that is not one at all is refused with 400, never a 5xx.
		expect((await post({ object: 'whatsapp_business_account', entry: 'x' })).status).toBe(400);
		// Nothing was applied or marked seen: the same message and person count when Meta's real update comes.
		expect(await (await openStore({ kind: 'sqlite' })).campaigns.counters('shape-typed')).toEqual({});
		expect(await consent('+33612348009')).toMatchObject({ allowed: true });
		expect((await post(envelope('messages', { statuses: [status({})] }))).status).toBe(200);
		expect(await (await openStore({ kind: 'sqlite' })).campaigns.counters('shape-typed')).toMatchObject({
			delivered: 1,
		});
	});

	test('statuses named constructor and toString write nothing into the counters', async () => {
		const statuses = ['constructor', 'toString'].map((name) => ({
			id: `wamid.${name}`,
			status: name,
			timestamp: ts(),
			recipient_id: '33612348003',
			biz_opaque_callback_data: 'shape-proto|A',
		}));
		const { status, execution } = await post(envelope('messages', { statuses }));
		expect(status).toBe(200);
		expect(execution[3]).toHaveLength(2);
		expect(await (await openStore({ kind: 'sqlite' })).campaigns.counters('shape-proto')).toEqual({});
	});

	test('an ACCOUNT_RESTRICTION nested 100,000 levels deep still pauses everything', async () => {
		// JSON.stringify cannot write this depth: build the body by hand, as a hostile sender would.
		const body = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"ACCOUNT_RESTRICTION","restriction_info":${'{"next":'.repeat(100_000)}{}${'}'.repeat(100_000)}}}]}]}`;
		const response = await fetch(monitorLoop().host.url, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sign(body) },
			body,
		});
		expect(response.status).toBe(200);
		const store = await openStore({ kind: 'sqlite' });
		const pause = await store.campaigns.activePause([{ scope: 'global', id: '*' }]);
		expect(pause).toMatchObject({ paused: true, reason: 'account_update:ACCOUNT_RESTRICTION' });
		await store.campaigns.setPause({ ...pause!, paused: false });
	});

	test('a disabled account pauses everything; its reinstatement lifts that pause, never one set by hand', async () => {
		const store = await openStore({ kind: 'sqlite' });
		const global = () => store.campaigns.activePause([{ scope: 'global', id: '*' }]);
		const disabled = (state: string) =>
			envelope('account_update', {
				event: 'DISABLED_UPDATE',
				ban_info: { waba_ban_state: state, waba_ban_date: 'April 17, 2025' },
			});
		await post(disabled('DISABLE'));
		expect(await global()).toMatchObject({ paused: true, reason: 'account_update:DISABLED_UPDATE' });
		const { execution } = await post(disabled('REINSTATE'));
		expect(execution[3][0].json).toMatchObject({ alert: 'DISABLED_UPDATE', resumed: { scope: 'global', id: '*' } });
		expect(await global()).toBeUndefined();
		// An operator's own pause is not lifted by Meta's reinstatement.
		await store.campaigns.setPause({
			scope: 'global',
			id: '*',
			paused: true,
			reason: 'Paused by Campaign Control',
			at: Date.now(),
		});
		await post(disabled('REINSTATE'));
		expect(await global()).toMatchObject({ paused: true, reason: 'Paused by Campaign Control' });
		await store.campaigns.setPause({ scope: 'global', id: '*', paused: false, at: Date.now() });
	});

	test.each([
		['entry items that are strings', { object: 'whatsapp_business_account', entry: ['x'] }],
		[
			'a change value that is null',
			{ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: null }] }] },
		],
		['statuses as an object', envelope('messages', { statuses: { id: 1 } })],
		['messages with null items', envelope('messages', { messages: [null, 3, 'a'] })],
		[
			'a status with errors as a string',
			envelope('messages', { statuses: [{ id: 'w', status: 'failed', timestamp: ts(), errors: 'boom' }] }),
		],
		['user_preferences as a number', envelope('user_preferences', { user_preferences: 7 })],
		[
			'a preference with an array wa_id',
			envelope('user_preferences', {
				user_preferences: [{ wa_id: [1], category: 'marketing_messages', value: 'stop', timestamp: ts() }],
			}),
		],
		[
			'an interactive reply that is a string',
			messages({ ...text('33612348004', 'x'), type: 'interactive', interactive: 'x' }),
		],
	])('%s: answered 200, reported, never a 500', async (_, body) => {
		const { status } = await post(body);
		expect(status).toBe(200);
	});
});
