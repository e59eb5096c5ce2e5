import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { runWorkflow } from '../harness/WorkflowHarness';
import { helloWorld, useMonitorLoop } from '../harness/monitorLoop';

const monitorLoop = useMonitorLoop();

let n = 0;
const fresh = () => `+3365${String(1_000_000 + ++n)}`;
const sendCampaign = (campaignId: string, recipients: string[]) => monitorLoop().sendCampaign(campaignId, recipients);

describe('WhatsApp Campaign Control', () => {
	test('Get Report: counts, rates, failures by code with Meta’s meaning, variants, and a funnel chart', async () => {
		const recipients = [fresh(), fresh(), fresh(), fresh()];
		monitorLoop().sandbox.setOutcome(recipients[0], { kind: 'failLater', code: 131026 });
		await sendCampaign('report-me', recipients);
		await monitorLoop().sandbox.flushWebhooks();
		const result = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: { 'Campaign Control': { operation: 'getReport', campaignId: 'report-me', chart: true } },
		});
		const [item] = result.outputs('Campaign Control')[0];
		expect(item.json.report).toMatchObject({
			campaignId: 'report-me',
			sent: 4,
			delivered: 3,
			read: 3,
			deliveryFailed: 1,
			deliveryRate: 0.75,
			readRate: 1,
			failuresByCode: [
				{ code: 131026, count: 1, stage: 'delivery', meaning: expect.stringContaining('not on WhatsApp') },
			],
			variants: { A: { delivered: 3, read: 3, deliveryFailed: 1 } },
			paused: null,
		});
		const timeline = (item.json.report as { timeline: Array<Record<string, number>> }).timeline;
		const total = (name: string) => timeline.reduce((sum, hour) => sum + (hour[name] ?? 0), 0);
		expect([total('sent'), total('delivered'), total('read'), total('deliveryFailed')]).toEqual([4, 3, 3, 1]);
		expect(item.binary?.chart).toMatchObject({ mimeType: 'image/svg+xml', fileName: 'report-me-funnel.svg' });
		const svg = Buffer.from(item.binary!.chart.data, 'base64').toString('utf8');
		expect(svg).toContain('Delivery rate 75.0 %');
		// The timeline drawn too: one point per hour for sent, delivered and read.
		expect(item.binary?.timeline).toMatchObject({ mimeType: 'image/svg+xml', fileName: 'report-me-per-hour.svg' });
		const perHour = Buffer.from(item.binary!.timeline.data, 'base64').toString('utf8');
		expect(perHour.match(/<polyline /g)).toHaveLength(3);
		expect(perHour.match(/<circle /g)).toHaveLength(3 * timeline.length);
		expect(perHour).toContain(`${String(timeline[0].hour).slice(5, 13)}h`);
	});

	test('Get Report: what Meta bills, from the statuses’ pricing, each delivered message once, by category and destination country', async () => {
		const { sandbox } = monitorLoop();
		const french = [fresh(), fresh(), fresh()];
		const brazilian = '+5531996880777';
		const username = 'US.13491208655302749301';
		// Delivered messages carry pricing on sent, delivered and read; a failed one is not billed.
		sandbox.setOutcome(french[0], { kind: 'failLater', code: 131026 });
		await sendCampaign('billing', [...french, brazilian, username]);
		await sandbox.flushWebhooks();
		const withPricing = sandbox.statusLog.filter((s) => s.status !== 'failed');
		expect(withPricing.length).toBeGreaterThan(4); // sent, delivered and read of each delivered message
		const result = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: { 'Campaign Control': { operation: 'getReport', campaignId: 'billing' } },
		});
		expect(result.outputs('Campaign Control')[0][0].json.report).toMatchObject({
			delivered: 4,
			billing: {
				billed: 4,
				billedByCategory: { utility: 4 },
				billedByCountry: { FR: { utility: 2 }, BR: { utility: 1 }, US: { utility: 1 } },
				free: {},
			},
		});
		// With the operator's rate card: the cost, what it has no rate for listed, and on the chart.
		const priced = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: {
				'Campaign Control': {
					operation: 'getReport',
					campaignId: 'billing',
					chart: true,
					rateCard: 'country,category,rate\nFR,utility,0.0318\nBR,utility,0.0068',
					currency: 'usd',
				},
			},
		});
		const [item] = priced.outputs('Campaign Control')[0];
		expect((item.json.report as IDataObject).cost).toEqual({
			currency: 'USD',
			total: 0.0704,
			byCategory: { utility: 0.0704 },
			unpriced: [{ country: 'US', category: 'utility', messages: 1 }],
		});
		expect(Buffer.from(item.binary!.chart.data, 'base64').toString('utf8')).toContain('cost 0.0704 USD (1 unpriced)');
		const wrong = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: {
				'Campaign Control': {
					operation: 'getReport',
					campaignId: 'billing',
					rateCard: 'FR,marketing',
					currency: 'EUR',
				},
			},
		});
		expect(wrong.error?.message).toBe('Rate Card: Line 1: expected country,category,rate');
	});

	test('Pause stops Template Send; configuration mistakes say what to fix', async () => {
		await runWorkflow('campaign-control.json', {
			items: [{ campaign: 'control-pause', reason: 'customer complaint' }],
		});
		const [, , notSent] = await sendCampaign('control-pause', [fresh()]);
		expect(notSent[0].json.whatsappSend).toMatchObject({
			reason: 'PAUSED',
			detail: 'campaign paused: customer complaint',
		});
		const missing = await runWorkflow('campaign-control.json', { items: [{ campaign: '' }] });
		expect(missing.error?.message).toBe('Enter the Campaign ID to pause');
	});

	test('an in-doubt send is settled by its status through the tag, even when Meta names the recipient by a wa_id that keys elsewhere', async () => {
		const { sandbox, credentials } = monitorLoop();
		const recipient = fresh();
		// Meta's statuses name this person by another wa_id (no national rule maps one to the other).
		sandbox.setWaId(recipient, '447700900999');
		sandbox.latencyMs = 1_300;
		const send = async () =>
			(
				await runWorkflow('template-send.json', {
					items: [{ whatsapp: { e164: recipient } }],
					credentials: credentials() as Record<string, ICredentialDataDecryptedObject>,
					parameters: {
						'Template Send': { ...helloWorld, campaignId: 'doubt-tag', options: { rate: 500, timeoutSeconds: 1 } },
					},
				})
			).outputs('Template Send');
		try {
			const [, failed] = await send();
			expect(failed[0].json.whatsappSend).toMatchObject({ status: 'failed', reason: 'IN_DOUBT' });
		} finally {
			sandbox.latencyMs = 0;
		}
		await new Promise((resolve) => setTimeout(resolve, 500)); // Meta's late answer
		await sandbox.flushWebhooks();
		// The status settled the exact claim: a re-run sees a sent message, with its wamid.
		const [, , notSent] = await send();
		const [accepted] = sandbox.acceptedSends().filter((r) => r.to === recipient);
		expect(notSent[0].json.whatsappSend).toMatchObject({
			status: 'not_sent',
			reason: 'ALREADY_SENT',
			detail: expect.stringContaining(`as ${accepted.messageId}`),
		});
		const released = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: { 'Campaign Control': { operation: 'releaseInDoubt', campaignId: 'doubt-tag', recipient } },
		});
		expect(released.outputs('Campaign Control')[0][0].json.campaignControl).toMatchObject({
			released: false,
			reason: 'NOT_IN_DOUBT',
		});
		expect(sandbox.acceptedSends().filter((r) => r.to === recipient)).toHaveLength(1);
	});

	test('Release In-Doubt Send: a send that got no answer is held back until the operator releases it, then sent once', async () => {
		const { sandbox, credentials } = monitorLoop();
		const recipient = fresh();
		sandbox.failRecipient(recipient, 'hang', 1);
		const send = async () =>
			(
				await runWorkflow('template-send.json', {
					items: [{ whatsapp: { e164: recipient } }],
					credentials: credentials() as Record<string, ICredentialDataDecryptedObject>,
					parameters: {
						'Template Send': { ...helloWorld, campaignId: 'doubt-me', options: { rate: 500, timeoutSeconds: 1 } },
					},
				})
			).outputs('Template Send');
		const release = async () =>
			(
				await runWorkflow('campaign-control.json', {
					items: [{}],
					parameters: {
						'Campaign Control': { operation: 'releaseInDoubt', campaignId: 'doubt-me', recipient: ` ${recipient} ` },
					},
				})
			).outputs('Campaign Control')[0][0].json.campaignControl;

		const [, failed] = await send();
		expect(failed[0].json.whatsappSend).toMatchObject({ status: 'failed', reason: 'IN_DOUBT' });
		const [, , notSent] = await send();
		expect(notSent[0].json.whatsappSend).toMatchObject({ status: 'not_sent', reason: 'ALREADY_SENT' });

		expect(await release()).toEqual({ operation: 'releaseInDoubt', campaignId: 'doubt-me', recipient, released: true });
		expect(await release()).toMatchObject({ released: false, reason: 'NOT_IN_DOUBT' });
		const [sent] = await send();
		expect(sent[0].json.whatsappSend).toMatchObject({ status: 'sent' });
		// Sent once: the first request never reached the point of acceptance.
		expect(sandbox.acceptedSends().filter((r) => r.to === recipient)).toHaveLength(1);
		// A sent message is never released.
		expect(await release()).toMatchObject({ released: false });
	});
});
