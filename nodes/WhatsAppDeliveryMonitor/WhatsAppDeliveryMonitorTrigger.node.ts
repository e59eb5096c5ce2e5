import type {
	IDataObject,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import { getComplianceStore, whatsAppComplianceRedisTest } from '../store/storeParameter';
import { whatsAppCloudApiTest } from '../transport/credentialTest';
import {
	answerChallenge,
	emitSettings,
	META_SUBSCRIPTIONS,
	monitorCredentials,
	monitorOptions,
	monitorOutputs,
	monitorProperties,
	receiveDelivery,
	type ReadParameter,
} from './description';

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
		...monitorOutputs,
		credentials: monitorCredentials,
		webhooks: [
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'whatsapp' },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'whatsapp' },
		],
		properties: [
			{
				displayName: `In the Meta app’s WhatsApp webhook settings, enter this node’s production URL as the callback URL and the credential’s verify token, and subscribe to ${META_SUBSCRIPTIONS}. Above about 5 webhooks a second (2 messages a second with sent, delivered and read), use the WhatsApp Delivery Monitor (Own Port) trigger instead.`,
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			...monitorProperties,
		],
	};

	methods = { credentialTest: { whatsAppCloudApiTest, whatsAppComplianceRedisTest } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const res = this.getResponseObject();
		const req = this.getRequestObject() as ReturnType<IWebhookFunctions['getRequestObject']> & { rawBody?: Buffer };
		const credentials = await this.getCredentials('whatsAppCloudApi');
		const reply = ({ status, body }: { status: number; body?: string }) => {
			res.status(status);
			if (body === undefined) res.end();
			else res.type('text/plain').send(body);
			return { noWebhookResponse: true };
		};

		if (this.getWebhookName() === 'setup')
			return reply(answerChallenge(this.getQueryData() as IDataObject, credentials));

		const raw = req.rawBody;
		if (!Buffer.isBuffer(raw)) return reply({ status: 400, body: 'Raw request body unavailable' });
		const appSecret = String(credentials.appSecret ?? '');
		if (!appSecret) {
			this.logger.error(
				'WhatsApp Delivery Monitor: the WhatsApp Cloud API credential has no App Secret, so no webhook can be verified',
			);
			return reply({ status: 401 });
		}
		const parameter: ReadParameter = (name, fallback) => this.getNodeParameter(name, fallback);
		const answer = await receiveDelivery(raw, req.headers['x-hub-signature-256'], {
			appSecret,
			store: async () => await getComplianceStore(this),
			options: () => monitorOptions(parameter, Date.now()),
			emit: emitSettings(parameter),
		});
		if (answer.outputs) return { workflowData: answer.outputs };
		return reply(answer);
	}
}
