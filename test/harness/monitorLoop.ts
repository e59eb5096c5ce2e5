/**
 * The closed loop the Delivery Monitor and Campaign Control tests share: the Cloud API sandbox posting
 * signed status webhooks to a Delivery Monitor trigger hosted on a real socket, and Template Send runs
 * through n8n-core against the sandbox.
 */
import { createHmac } from 'node:crypto';

import type { IDataObject } from 'n8n-workflow';

import { isBsuid } from '../../nodes/core/contactIdentity';
import { closeAllStores } from '../../nodes/store/openStore';
import { runWorkflow } from './WorkflowHarness';
import { startTriggerHost, startWebhookHost, type WebhookHost } from './webhookHost';
import { CloudApiSandbox, metaJson } from '../sandbox/server.ts';

export const APP_SECRET = 'monitor-app-secret';
export const VERIFY_TOKEN = 'verify-me-please';
export const helloWorld = {
	template: { __rl: true, mode: 'name', value: 'hello_world:en_US' },
	variables: { mappingMode: 'defineBelow', value: {}, matchingColumns: [], schema: [] },
};

export interface MonitorLoop {
	sandbox: CloudApiSandbox;
	host: WebhookHost;
	credentials: () => Record<string, unknown>;
	/** Template Send to these recipients (numbers or BSUIDs) in a campaign; its three outputs. */
	sendCampaign: (
		campaignId: string,
		recipients: string[],
		template?: IDataObject,
	) => Promise<ReturnType<Awaited<ReturnType<typeof runWorkflow>>['outputs']>>;
	close: () => Promise<void>;
}

/**
 * How the loop's Delivery Monitor receives webhooks: through n8n's webhook layer (the Delivery Monitor)
 * or on its own port (the Own Port variant). Test files that run against both set MONITOR_RECEIVER
 * before their tests start (see test/nodes/ownPort/).
 */
export type MonitorReceiver = 'webhook' | 'ownPort';
export const monitorReceiver = (): MonitorReceiver =>
	process.env.MONITOR_RECEIVER === 'ownPort' ? 'ownPort' : 'webhook';

export async function startMonitorLoop(receiver = monitorReceiver()): Promise<MonitorLoop> {
	const sandbox = await CloudApiSandbox.start({
		webhook: { url: 'http://127.0.0.1:9/unset', appSecret: APP_SECRET, statusDelayMs: 2, batchDelayMs: 20 },
	});
	const credentials = () => ({
		whatsAppCloudApi: sandbox.credentials({ appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN }),
	});
	const parameters = {
		store: 'builtIn',
		emitStatuses: ['failed'],
		emitInbound: true,
		emitOptOuts: true,
		emitAlerts: true,
		autoPause: true,
		options: {},
	};
	const host =
		receiver === 'ownPort'
			? await startTriggerHost('whatsAppDeliveryMonitorOwnPortTrigger', parameters, credentials())
			: await startWebhookHost('whatsAppDeliveryMonitorTrigger', parameters, credentials());
	sandbox.webhook!.url = host.url;
	return {
		sandbox,
		host,
		credentials,
		sendCampaign: async (campaignId, recipients, template = helloWorld) => {
			const result = await runWorkflow('template-send.json', {
				// As Number Validation passes them: a number as `e164`, a BSUID as `recipient`.
				items: recipients.map((id) => ({ whatsapp: isBsuid(id) ? { recipient: id } : { e164: id } })),
				credentials: credentials(),
				parameters: { 'Template Send': { ...template, campaignId, options: { rate: 500 } } },
			});
			return result.outputs('Template Send');
		},
		close: async () => {
			await host.close();
			await sandbox.close();
		},
	};
}

export const sign = (body: string, secret = APP_SECRET) =>
	`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * Posts a Meta envelope, as Meta serialises it and signed with the app secret, to the loop's Delivery
 * Monitor; expects the 200 and returns the execution it started (its items by output).
 */
export async function postSigned(loop: MonitorLoop, envelope: unknown) {
	const body = metaJson(envelope);
	const response = await fetch(loop.host.url, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sign(body) },
		body,
	});
	expect(response.status).toBe(200);
	return loop.host.executions.at(-1);
}

/** Starts the loop before a test file's tests and stops it (and every store the file opened) after. */
export function useMonitorLoop(): () => MonitorLoop {
	let loop: MonitorLoop | undefined;
	beforeAll(async () => {
		loop = await startMonitorLoop();
	});
	afterAll(async () => {
		await loop?.close();
		await closeAllStores();
	});
	return () => loop!;
}
