import { timingSafeEqual } from 'node:crypto';

import type {
	IDataObject,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import { OPT_OUT_KEYWORDS, RESUBSCRIBE_KEYWORDS } from '../core/keywords';
import { parseEnvelope, verifySignature } from '../core/webhooks';
import { getComplianceStore, storeProperty, whatsAppComplianceRedisTest } from '../store/storeParameter';
import { whatsAppCloudApiTest } from '../transport/credentialTest';
import { processDelivery } from './processDelivery';

/** Meta sends up to 1,000 updates and 3 MB per POST. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const MAX_UPDATES = 1000;

const list = (text: string) =>
	text
		.split(',')
		.map((word) => word.trim())
		.filter(Boolean);

export class WhatsAppDeliveryMonitorTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Delivery Monitor Trigger',
		name: 'whatsAppDeliveryMonitorTrigger',
		icon: 'file:whatsAppDeliveryMonitorTrigger.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{"Webhook for the Meta app"}}',
		description:
			'Receives WhatsApp’s webhooks: delivery statuses, replies, STOP opt-outs, template and account events; pauses campaigns that go wrong',
		defaults: { name: 'WhatsApp Delivery Monitor' },
		inputs: [],
		// Four outputs, one per kind of event.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: ['main', 'main', 'main', 'main'],
		outputNames: ['Status', 'Inbound Message', 'Opt-Out', 'Alert'],
		credentials: [
			{ name: 'whatsAppCloudApi', required: true, testedBy: 'whatsAppCloudApiTest' },
			{
				name: 'whatsAppComplianceRedisApi',
				required: true,
				displayOptions: { show: { store: ['redis'] } },
				testedBy: 'whatsAppComplianceRedisTest',
			},
		],
		webhooks: [
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'whatsapp' },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'whatsapp' },
		],
		properties: [
			{
				displayName:
					'In the Meta app’s WhatsApp webhook settings, enter this node’s production URL as the callback URL and the credential’s verify token, and subscribe to messages, user_preferences, message_template_status_update, phone_number_quality_update and account_update.',
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			storeProperty,
			{
				displayName: 'Statuses That Start the Workflow',
				name: 'emitStatuses',
				type: 'multiOptions',
				options: [
					{ name: 'Delivered', value: 'delivered' },
					{ name: 'Failed', value: 'failed' },
					{ name: 'Read', value: 'read' },
					{ name: 'Sent', value: 'sent' },
				],
				default: ['failed'],
				description:
					'Every status is recorded in the store; only these start an execution (a 100,000-message campaign should not start 300,000 executions)',
			},
			{
				displayName: 'Emit Inbound Messages',
				name: 'emitInbound',
				type: 'boolean',
				default: true,
				description: 'Whether replies (other than opt-out keywords) start the workflow on the Inbound Message output',
			},
			{
				displayName: 'Emit Opt-Outs',
				name: 'emitOptOuts',
				type: 'boolean',
				default: true,
				description: 'Whether opt-outs and resubscriptions start the workflow on the Opt-Out output',
			},
			{
				displayName: 'Emit Alerts',
				name: 'emitAlerts',
				type: 'boolean',
				default: true,
				description: 'Whether pauses and template, quality and account events start the workflow on the Alert output',
			},
			{
				displayName: 'Automatic Pause',
				name: 'autoPause',
				type: 'boolean',
				default: true,
				description:
					'Whether to pause a campaign whose delivery rate falls or whose opt-out rate rises past the thresholds',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Maximum Opt-Out Rate (%)',
						name: 'maxOptOutRate',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
						default: 2,
					},
					{
						displayName: 'Minimum Delivery Rate (%)',
						name: 'minDeliveryRate',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
						default: 90,
						description: 'Healthy senders see more than 95 %',
					},
					{
						displayName: 'Minimum Final Statuses Before Judging',
						name: 'minimumFinal',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 100,
						description: 'Delivered plus failed messages a campaign needs before its rates can pause it',
					},
					{
						displayName: 'Opt-Out Button Payloads',
						name: 'optOutPayloads',
						type: 'string',
						default: 'STOP_PROMOS,STOP,UNSUBSCRIBE',
						description: 'Comma-separated quick-reply payloads that opt the contact out',
					},
					{
						displayName: 'Opt-Out Keywords',
						name: 'optOutKeywords',
						type: 'string',
						default: OPT_OUT_KEYWORDS.join(','),
						description:
							'Comma-separated; a reply equal to one (case and accents ignored) opts the contact out of everything',
					},
					{
						displayName: 'Resubscribe Keywords',
						name: 'resubscribeKeywords',
						type: 'string',
						default: RESUBSCRIBE_KEYWORDS.join(','),
						description: 'Comma-separated; a reply equal to one records a new opt-in (source whatsapp-keyword)',
					},
					{
						displayName: 'Resume Restores Consent',
						name: 'resumeRestoresConsent',
						type: 'boolean',
						default: false,
						description: 'Whether a contact turning marketing back on inside WhatsApp counts as a new marketing opt-in',
					},
				],
			},
		],
	};

	methods = { credentialTest: { whatsAppCloudApiTest, whatsAppComplianceRedisTest } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const res = this.getResponseObject();
		const req = this.getRequestObject() as ReturnType<IWebhookFunctions['getRequestObject']> & { rawBody?: Buffer };
		const credentials = await this.getCredentials('whatsAppCloudApi');
		const reply = (status: number, body?: string) => {
			res.status(status);
			if (body === undefined) res.end();
			else res.type('text/plain').send(body);
			return { noWebhookResponse: true };
		};

		if (this.getWebhookName() === 'setup') {
			const query = this.getQueryData() as IDataObject;
			const expected = Buffer.from(String(credentials.verifyToken ?? ''));
			const given = Buffer.from(String(query['hub.verify_token'] ?? ''));
			const matches = expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given);
			if (query['hub.mode'] === 'subscribe' && matches) return reply(200, String(query['hub.challenge'] ?? ''));
			return reply(403);
		}

		const raw = req.rawBody;
		if (!Buffer.isBuffer(raw)) return reply(400, 'Raw request body unavailable');
		if (raw.length > MAX_BODY_BYTES) return reply(413);
		const appSecret = String(credentials.appSecret ?? '');
		if (!appSecret) {
			this.logger.error(
				'WhatsApp Delivery Monitor: the WhatsApp Cloud API credential has no App Secret, so no webhook can be verified',
			);
			return reply(401);
		}
		if (!verifySignature(raw, req.headers['x-hub-signature-256'], appSecret)) return reply(401);
		let body: unknown;
		try {
			body = JSON.parse(raw.toString('utf8'));
		} catch {
			return reply(400, 'Body is not JSON');
		}
		const events = parseEnvelope(body);
		if (!events) return reply(400, 'Not a WhatsApp Business Account webhook');
		if (events.length > MAX_UPDATES) return reply(413);

		const options = this.getNodeParameter('options', {}) as IDataObject;
		const store = await getComplianceStore(this);
		const emitted = await processDelivery(store, events, {
			optOutKeywords: list(String(options.optOutKeywords ?? OPT_OUT_KEYWORDS.join(','))),
			resubscribeKeywords: list(String(options.resubscribeKeywords ?? RESUBSCRIBE_KEYWORDS.join(','))),
			optOutPayloads: list(String(options.optOutPayloads ?? 'STOP_PROMOS,STOP,UNSUBSCRIBE')),
			resumeRestoresConsent: options.resumeRestoresConsent === true,
			autoPause: (this.getNodeParameter('autoPause', true) as boolean)
				? {
						minimumFinal: Number(options.minimumFinal ?? 100),
						minDeliveryRate: Number(options.minDeliveryRate ?? 90) / 100,
						maxOptOutRate: Number(options.maxOptOutRate ?? 2) / 100,
					}
				: undefined,
			now: Date.now(),
		});

		const statuses = new Set(this.getNodeParameter('emitStatuses', ['failed']) as string[]);
		const toItems = (rows: Array<Record<string, unknown>>): INodeExecutionData[] =>
			rows.map((json) => ({ json: json as IDataObject }));
		const outputs = [
			toItems(emitted.status.filter((s) => statuses.has(String(s.status)))),
			(this.getNodeParameter('emitInbound', true) as boolean) ? toItems(emitted.inbound) : [],
			(this.getNodeParameter('emitOptOuts', true) as boolean) ? toItems(emitted.optOut) : [],
			(this.getNodeParameter('emitAlerts', true) as boolean) ? toItems(emitted.alert) : [],
		];
		// Routine statuses are recorded above and start nothing: Meta only needs its 200.
		if (outputs.every((items) => items.length === 0)) return reply(200, 'OK');
		return { workflowData: outputs };
	}
}
