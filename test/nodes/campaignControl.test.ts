import { runWorkflow } from '../harness/WorkflowHarness';
import { useMonitorLoop } from '../harness/monitorLoop';

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
});
