import { parseCallbackData } from '../../nodes/core/callbackData';
import type { IDataObject } from 'n8n-workflow';

import { closeAllStores, openStore } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { sign, startMonitorLoop, VERIFY_TOKEN, type MonitorLoop } from '../harness/monitorLoop';
import type { WebhookHost } from '../harness/webhookHost';
import { STATUS_FAILED, STATUS_SENT } from '../fixtures/metaWebhooks';
import { metaJson, type CloudApiSandbox } from '../sandbox/server.ts';

let loop: MonitorLoop;
let sandbox: CloudApiSandbox;
let host: WebhookHost;

beforeAll(async () => {
	loop = await startMonitorLoop();
	({ sandbox, host } = loop);
});
afterAll(async () => {
	await loop.close();
	await closeAllStores();
});

let n = 0;
const fresh = () => `+3364${String(1_000_000 + ++n)}`;
const store = () => openStore({ kind: 'sqlite' });
const sendCampaign = (campaignId: string, recipients: string[], template?: IDataObject) =>
	loop.sendCampaign(campaignId, recipients, template);

async function post(body: string, signature?: string) {
	const headers: Record<string, string> = { 'Content-Type': 'application/json' };
	if (signature !== undefined) headers['X-Hub-Signature-256'] = signature;
	return fetch(host.url, { method: 'POST', headers, body });
}

describe('WhatsApp Delivery Monitor trigger', () => {
	test('verification: the right verify token gets the challenge back as text, anything else 403', async () => {
		const ok = await fetch(`${host.url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe('1158201444');
		expect((await fetch(`${host.url}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1`)).status).toBe(403);
		expect((await fetch(`${host.url}?hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`)).status).toBe(403);
	});

	test('the sandbox’s signed status webhooks are counted per campaign, and routine statuses start no execution', async () => {
		const executionsBefore = host.executions.length;
		const recipients = [fresh(), fresh(), fresh()];
		await sendCampaign('monitor-basic', recipients);
		await sandbox.flushWebhooks();
		expect(sandbox.counters.webhookFailures).toBe(0);
		const counters = await (await store()).campaigns.counters('monitor-basic');
		expect(counters).toMatchObject({
			sent: 3,
			statusSent: 3,
			delivered: 3,
			read: 3,
			'variant:A:delivered': 3,
			'variant:A:read': 3,
		});
		expect(host.executions.length).toBe(executionsBefore);
	});

	test('wrong, missing and replayed signatures, malformed JSON and oversize bodies are refused and change nothing', async () => {
		const e164 = fresh();
		const body = metaJson({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'w',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								contacts: [{ wa_id: e164.slice(1) }],
								messages: [
									{
										from: e164.slice(1),
										id: `wamid.x${n}`,
										timestamp: '1760000000',
										type: 'text',
										text: { body: 'STOP' },
									},
								],
							},
						},
					],
				},
			],
		});
		const other = metaJson({ object: 'whatsapp_business_account', entry: [] });
		expect((await post(body, sign(body, 'not-the-secret'))).status).toBe(401);
		expect((await post(body)).status).toBe(401);
		expect((await post(body, sign(other))).status).toBe(401);
		expect((await post('{"object": "whatsapp_business_acc', sign('{"object": "whatsapp_business_acc'))).status).toBe(
			400,
		);
		expect((await post('{"hello":"world"}', sign('{"hello":"world"}'))).status).toBe(400);
		const huge = metaJson({ object: 'whatsapp_business_account', entry: [], padding: 'x'.repeat(3 * 1024 * 1024) });
		expect((await post(huge, sign(huge))).status).toBe(413);
		const state = (await (await store()).ledger.contactStates([(await store()).contactKey(e164)])).get(
			(await store()).contactKey(e164),
		)!;
		expect(state).toEqual({ consent: {}, suppressions: [] });
	});

	test('duplicated and out-of-order deliveries are counted once, matching the sandbox’s ground truth', async () => {
		sandbox.webhook!.duplicateRate = 1;
		sandbox.webhook!.outOfOrder = true;
		try {
			const recipients = Array.from({ length: 20 }, fresh);
			await sendCampaign('monitor-dupes', recipients);
			await sandbox.flushWebhooks();
			const truth = sandbox.statusLog.filter((s) => parseCallbackData(s.biz).campaignId === 'monitor-dupes');
			const counters = await (await store()).campaigns.counters('monitor-dupes');
			expect(counters.delivered).toBe(truth.filter((s) => s.status === 'delivered').length);
			expect(counters.read).toBe(truth.filter((s) => s.status === 'read').length);
			expect(counters.statusSent).toBe(truth.filter((s) => s.status === 'sent').length);
			expect(counters.delivered).toBe(20);
		} finally {
			sandbox.webhook!.duplicateRate = 0;
			sandbox.webhook!.outOfOrder = false;
		}
	});

	test('a STOP reply (“Arrêt”, signed over escaped bytes) makes the next Consent Gate check block the contact', async () => {
		const e164 = fresh();
		await sendCampaign('monitor-stop', [e164]);
		await sandbox.flushWebhooks();
		const executionsBefore = host.executions.length;
		sandbox.injectInboundText(e164, '  Arrêt! ', 'Zoë');
		await sandbox.flushWebhooks();
		const execution = host.executions[executionsBefore];
		expect(execution[2][0].json).toMatchObject({
			kind: 'opt_out',
			action: 'opt_out',
			categories: ['all'],
			source: 'whatsapp-keyword',
			from: e164,
			campaignId: 'monitor-stop',
			profileName: 'Zoë',
		});
		const check = await runWorkflow('consent-check.json', {
			items: [{ whatsapp: { e164 }, whatsappOptIn: true }],
			parameters: { 'Consent Gate': {} },
		});
		expect(check.json('Consent Gate', 1)[0].consent).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect((await (await store()).campaigns.counters('monitor-stop')).optOut).toBe(1);
	});

	test('failed 131050 suppresses marketing only; 131026 marks undeliverable; 131049 holds 24 h; failures start an execution', async () => {
		const [stopped, absent, held] = [fresh(), fresh(), fresh()];
		sandbox.setOutcome(stopped, { kind: 'failLater', code: 131050 });
		sandbox.setOutcome(absent, { kind: 'failLater', code: 131026 });
		sandbox.setOutcome(held, { kind: 'failLater', code: 131049 });
		const executionsBefore = host.executions.length;
		await sendCampaign('monitor-failures', [stopped, absent, held]);
		await sandbox.flushWebhooks();
		const emitted = host.executions.slice(executionsBefore).flatMap((e) => e[0].map((i) => i.json));
		expect(emitted.map((s) => (s.errors as IDataObject[])[0].code).sort()).toEqual([131026, 131049, 131050]);
		const s = await store();
		const states = await s.ledger.contactStates([s.contactKey(stopped), s.contactKey(absent), s.contactKey(held)]);
		expect(states.get(s.contactKey(stopped))!.suppressions).toEqual([
			{ category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: expect.any(Number) },
		]);
		expect(states.get(s.contactKey(absent))!.undeliverableAt).toBeGreaterThan(0);
		// The hold is what the cap reads: the held contact is refused for about 24 h.
		const [decision] = await s.caps.reserve(
			[
				{
					contactKey: s.contactKey(held),
					category: 'marketing',
					phoneNumberId: 'any',
					reservationTtlMs: 1_000,
					dryRun: true,
				},
			],
			Date.now(),
		);
		expect(decision).toEqual({ allowed: false, reason: 'META_HOLD', nextAllowedAt: expect.any(Number) });
		expect(decision.allowed === false && decision.nextAllowedAt).toBeGreaterThan(Date.now() + 23 * 3_600_000);
		const check = (category: string) =>
			runWorkflow('consent-check.json', {
				items: [{ whatsapp: { e164: stopped }, whatsappOptIn: true }],
				parameters: { 'Consent Gate': { category } },
			});
		expect((await check('marketing')).json('Consent Gate', 1)[0].consent).toMatchObject({ reason: 'OPTED_OUT' });
		expect((await check('utility')).json('Consent Gate', 0)[0].consent).toMatchObject({ allowed: true });
		expect(await s.campaigns.counters('monitor-failures')).toMatchObject({
			deliveryFailed: 3,
			'deliveryFailed:131050': 1,
			'deliveryFailed:131026': 1,
			'deliveryFailed:131049': 1,
		});
	});

	test('a delivery rate under 90 % pauses the campaign, Template Send stops within 0.5 s, Campaign Control resumes it', async () => {
		const recipients = Array.from({ length: 130 }, fresh);
		for (const r of recipients.slice(0, 20)) sandbox.setOutcome(r, { kind: 'failLater', code: 131026 });
		const executionsBefore = host.executions.length;
		// First part of the campaign goes out and its statuses come back: 20 of 120 fail (83 %).
		await sendCampaign('monitor-rate', recipients.slice(0, 120));
		await sandbox.flushWebhooks();
		const s = await store();
		const pause = await s.campaigns.activePause([{ scope: 'campaign', id: 'monitor-rate' }]);
		// It pauses as soon as 100 final statuses are in and the rate is below 90 %.
		expect(pause).toMatchObject({ paused: true, reason: 'DELIVERY_RATE', details: { failed: 20 } });
		expect((pause!.details as { deliveryRate: number }).deliveryRate).toBeLessThan(0.9);
		expect((pause!.details as { delivered: number }).delivered + 20).toBeGreaterThanOrEqual(100);
		const alerts = host.executions.slice(executionsBefore).flatMap((e) => e[3].map((i) => i.json));
		expect(alerts).toContainEqual(
			expect.objectContaining({ alert: 'CAMPAIGN_PAUSED_DELIVERY_RATE', campaignId: 'monitor-rate' }),
		);
		// The rest of the campaign is held back…
		const [, , notSent] = await sendCampaign('monitor-rate', recipients.slice(120));
		expect(notSent).toHaveLength(10);
		expect(notSent[0].json.whatsappSend).toMatchObject({ reason: 'PAUSED', detail: 'campaign paused: DELIVERY_RATE' });
		// …until Campaign Control resumes it.
		const resume = await runWorkflow('campaign-control.json', {
			items: [{ campaign: 'monitor-rate', reason: 'list cleaned' }],
			parameters: { 'Campaign Control': { operation: 'resume' } },
		});
		expect(resume.json('Campaign Control')[0].campaignControl).toMatchObject({
			operation: 'resume',
			scope: 'campaign',
			id: 'monitor-rate',
			reason: 'list cleaned',
		});
		const [sent] = await sendCampaign('monitor-rate', recipients.slice(120));
		expect(sent).toHaveLength(10);
		// The statuses of what was sent after the resume do not pause it again on the old failures:
		// the rate is judged on what happened since the resume (10 finals so far, under the minimum).
		await sandbox.flushWebhooks();
		expect(await s.campaigns.activePause([{ scope: 'campaign', id: 'monitor-rate' }])).toBeUndefined();
	});

	test('user_preferences stop, template PAUSED and account restriction events', async () => {
		const e164 = fresh();
		const executionsBefore = host.executions.length;
		sandbox.injectField('user_preferences', {
			user_preferences: [
				{
					wa_id: e164.slice(1),
					detail: 'User requested to stop marketing messages',
					category: 'marketing_messages',
					value: 'stop',
					timestamp: Math.floor(Date.now() / 1000),
				},
			],
		});
		sandbox.injectField('message_template_status_update', {
			event: 'PAUSED',
			message_template_id: 1004,
			message_template_name: 'weekly_promo',
			message_template_language: 'en_US',
			reason: 'LOW_QUALITY',
		});
		await sandbox.flushWebhooks();
		const s = await store();
		expect((await s.ledger.contactStates([s.contactKey(e164)])).get(s.contactKey(e164))!.suppressions).toEqual([
			{ category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: expect.any(Number) },
		]);
		expect(await s.campaigns.activePause([{ scope: 'template', id: 'weekly_promo:en_US' }])).toMatchObject({
			reason: 'TEMPLATE_PAUSED',
		});
		const emitted = host.executions.slice(executionsBefore).flatMap((e) => [...e[2], ...e[3]].map((i) => i.json));
		expect(emitted).toContainEqual(
			expect.objectContaining({ kind: 'opt_out', source: 'whatsapp-preferences', from: e164 }),
		);
		expect(emitted).toContainEqual(
			expect.objectContaining({ alert: 'TEMPLATE_PAUSED', template: 'weekly_promo:en_US' }),
		);
		// Template Send honours the paused template.
		const [, , notSent] = await sendCampaign('monitor-template', [fresh()], {
			template: { __rl: true, mode: 'name', value: 'weekly_promo:en_US' },
			variables: {
				mappingMode: 'defineBelow',
				value: { 'body.1': 'Ana', 'body.2': '20%', 'button.1.code': 'SAVE20' },
				matchingColumns: [],
				schema: [],
			},
		});
		expect(notSent[0].json.whatsappSend).toMatchObject({
			reason: 'PAUSED',
			detail: 'template paused: TEMPLATE_PAUSED',
		});
		await s.campaigns.setPause({ scope: 'template', id: 'weekly_promo:en_US', paused: false, at: Date.now() });

		sandbox.injectField('account_update', {
			phone_number: '15550100000',
			event: 'ACCOUNT_RESTRICTION',
			restriction_info: [{ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: 1760000000 }],
		});
		await sandbox.flushWebhooks();
		expect(await s.campaigns.activePause([{ scope: 'global', id: '*' }])).toMatchObject({
			reason: 'account_update:ACCOUNT_RESTRICTION',
		});
		await s.campaigns.setPause({ scope: 'global', id: '*', paused: false, at: Date.now() });
	});
});

describe('every subscription field, in Meta’s payload shapes', () => {
	test('template quality, phone quality and capability updates raise alerts; a flagged number pauses everything', async () => {
		const executionsBefore = host.executions.length;
		sandbox.injectField('message_template_quality_update', {
			previous_quality_score: 'GREEN',
			new_quality_score: 'YELLOW',
			message_template_id: 1001,
			message_template_name: 'spring_sale',
			message_template_language: 'fr',
		});
		sandbox.injectField('business_capability_update', {
			max_daily_conversation_per_phone: 2000,
			max_phone_numbers_per_business: 2,
		});
		sandbox.injectField('phone_number_quality_update', {
			display_phone_number: '15550100000',
			event: 'FLAGGED',
			current_limit: 'TIER_2K',
		});
		await sandbox.flushWebhooks();
		const alerts = host.executions.slice(executionsBefore).flatMap((e) => e[3].map((i) => i.json));
		expect(alerts).toEqual(
			expect.arrayContaining([
				expect.objectContaining({
					field: 'message_template_quality_update',
					detail: expect.objectContaining({ new_quality_score: 'YELLOW' }),
				}),
				expect.objectContaining({ field: 'business_capability_update' }),
				expect.objectContaining({
					alert: 'FLAGGED',
					field: 'phone_number_quality_update',
					paused: { scope: 'global', id: '*' },
				}),
			]),
		);
		const s = await store();
		expect(await s.campaigns.activePause([{ scope: 'global', id: '*' }])).toMatchObject({
			reason: 'phone_number_quality_update:FLAGGED',
		});
		await s.campaigns.setPause({ scope: 'global', id: '*', paused: false, at: Date.now() });
	});

	test('an interactive button reply and a quick-reply payload configured as opt-out', async () => {
		const [a, b] = [fresh(), fresh()];
		const executionsBefore = host.executions.length;
		sandbox.injectQuickReply(a, 'STOP_PROMOS', 'Stop promotions');
		const body = metaJson({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'w',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								contacts: [{ profile: { name: 'Bé' }, wa_id: b.slice(1) }],
								messages: [
									{
										from: b.slice(1),
										id: `wamid.interactive${n}`,
										timestamp: String(Math.floor(Date.now() / 1000)),
										type: 'interactive',
										interactive: { type: 'button_reply', button_reply: { id: 'more-info', title: 'Tell me more' } },
									},
								],
							},
						},
					],
				},
			],
		});
		expect((await post(body, sign(body))).status).toBe(200);
		await sandbox.flushWebhooks();
		const emitted = host.executions.slice(executionsBefore);
		expect(emitted.flatMap((e) => e[2].map((i) => i.json))).toContainEqual(
			expect.objectContaining({ action: 'opt_out', source: 'whatsapp-button', payload: 'STOP_PROMOS', from: a }),
		);
		expect(emitted.flatMap((e) => e[1].map((i) => i.json))).toContainEqual(
			expect.objectContaining({
				type: 'interactive',
				text: 'Tell me more',
				buttonPayload: 'more-info',
				from: b,
				profileName: 'Bé',
			}),
		);
	});
});

describe('one final state per message, whatever the order of its statuses', () => {
	// pywa's status shapes (test/fixtures/metaWebhooks.ts) with this test's ids, times and our tag.
	const status = (messageId: string, recipient: string, name: string, code?: number) => {
		const body = structuredClone(name === 'failed' ? STATUS_FAILED : STATUS_SENT) as {
			entry: Array<{ changes: Array<{ value: { statuses: IDataObject[] } }> }>;
		};
		const s = body.entry[0].changes[0].value.statuses[0];
		Object.assign(s, {
			id: messageId,
			status: name,
			timestamp: String(Math.floor(Date.now() / 1000)),
			recipient_id: recipient,
			biz_opaque_callback_data: 'wac1|final-state|A',
		});
		if (code) (s.errors as IDataObject[])[0].code = code;
		return metaJson(body);
	};
	const deliver = async (...bodies: string[]) => {
		for (const body of bodies) expect((await post(body, sign(body))).status).toBe(200);
	};

	test('delivered, then failed 131026: counted once as delivered, and the person is not marked unreachable', async () => {
		const recipient = fresh().slice(1);
		await deliver(
			status('wamid.final.1', recipient, 'delivered'),
			status('wamid.final.1', recipient, 'failed', 131026),
		);
		const s = await store();
		expect(await s.campaigns.counters('final-state')).toMatchObject({ delivered: 1 });
		expect((await s.campaigns.counters('final-state')).deliveryFailed ?? 0).toBe(0);
		const key = s.contactKey(recipient);
		expect((await s.ledger.contactStates([key])).get(key)!.undeliverableAt).toBeUndefined();
	});

	test('failed 131026, then delivered: the failure is taken back (total, variant and code) and the unreachable mark cleared', async () => {
		const recipient = fresh().slice(1);
		const s = await store();
		const before = await s.campaigns.counters('final-state');
		const key = s.contactKey(recipient);
		await deliver(status('wamid.final.2', recipient, 'failed', 131026));
		expect((await s.ledger.contactStates([key])).get(key)!.undeliverableAt).toBeDefined();
		const afterFailure = await s.campaigns.counters('final-state');
		expect((afterFailure.deliveryFailed ?? 0) - (before.deliveryFailed ?? 0)).toBe(1);
		await deliver(status('wamid.final.2', recipient, 'read'), status('wamid.final.2', recipient, 'delivered'));
		const after = await s.campaigns.counters('final-state');
		const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
		expect([delta('delivered'), delta('read'), delta('deliveryFailed'), delta('deliveryFailed:131026')]).toEqual([
			1, 1, 0, 0,
		]);
		expect(delta('variant:A:deliveryFailed')).toBe(0);
		expect((await s.ledger.contactStates([key])).get(key)!.undeliverableAt).toBeUndefined();
	});

	test('both orders in one POST give the same counters; a 131050 stands even after a delivery', async () => {
		const [a, b] = [fresh().slice(1), fresh().slice(1)];
		const s = await store();
		const before = await s.campaigns.counters('final-state');
		const envelope = (first: string, second: string) => {
			const one = JSON.parse(first) as { entry: Array<{ changes: Array<{ value: { statuses: unknown[] } }> }> };
			one.entry[0].changes[0].value.statuses.push(...JSON.parse(second).entry[0].changes[0].value.statuses);
			return metaJson(one);
		};
		await deliver(envelope(status('wamid.final.3', a, 'failed', 131050), status('wamid.final.3', a, 'delivered')));
		await deliver(envelope(status('wamid.final.4', b, 'delivered'), status('wamid.final.4', b, 'failed', 131050)));
		const after = await s.campaigns.counters('final-state');
		const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
		expect([delta('delivered'), delta('deliveryFailed')]).toEqual([2, 0]);
		for (const who of [a, b]) {
			const key = s.contactKey(who);
			expect((await s.ledger.contactStates([key])).get(key)!.suppressions).toContainEqual(
				expect.objectContaining({ category: 'marketing', reason: 'USER_STOPPED_MARKETING' }),
			);
		}
	});
});
