import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import {
	NodeOperationError,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { describeSystemError } from '../store/errors';
import { getComplianceStore, whatsAppComplianceRedisTest } from '../store/storeParameter';
import { whatsAppCloudApiTest } from '../transport/credentialTest';
import {
	answerChallenge,
	emitSettings,
	MAX_BODY_BYTES,
	META_SUBSCRIPTIONS,
	monitorCredentials,
	monitorOptions,
	monitorOutputs,
	monitorProperties,
	receiveDelivery,
	type DeliveryAnswer,
	type ReadParameter,
} from '../WhatsAppDeliveryMonitor/description';

export const DEFAULT_PORT = 5690;

/**
 * The Delivery Monitor on its own HTTP server. n8n's webhook layer costs each request an expression
 * isolate or two (n8n 2.41: about 70–240 ms of CPU), so one n8n holds about 5 of Meta's webhooks a
 * second; most of them are routine statuses that only update the store. Here a request costs the
 * signature check and the store writes, and only the events that start the workflow reach n8n (emit).
 */
export class WhatsAppDeliveryMonitorOwnPortTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Delivery Monitor (Own Port) Trigger',
		name: 'whatsAppDeliveryMonitorOwnPortTrigger',
		icon: 'file:whatsAppDeliveryMonitorOwnPortTrigger.svg',
		group: ['trigger'],
		version: 1,
		subtitle: '={{"Listening on port " + $parameter["port"]}}',
		description:
			'The Delivery Monitor for high volume: receives WhatsApp’s webhooks on its own port, outside n8n’s webhook layer (hundreds a second)',
		defaults: { name: 'WhatsApp Delivery Monitor' },
		inputs: [],
		...monitorOutputs,
		credentials: monitorCredentials,
		properties: [
			{
				displayName: `This trigger runs its own HTTP server on the port below, in the n8n process that activates the workflow (the main process in queue mode). Make it reachable by Meta over HTTPS (e.g. a reverse proxy forwarding https://your-host/whatsapp to this port), enter that URL as the callback URL in the Meta app’s WhatsApp webhook settings with the credential’s verify token, and subscribe to ${META_SUBSCRIPTIONS}.`,
				name: 'setupNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Port',
				name: 'port',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 65535 },
				default: DEFAULT_PORT,
				description: 'TCP port of the trigger’s own HTTP server; not n8n’s port',
			},
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: '/whatsapp',
				description: 'The path Meta posts to; other paths are answered 404',
			},
			{
				displayName: 'Listen Address',
				name: 'listenAddress',
				type: 'string',
				default: '0.0.0.0',
				description:
					'Network address to listen on: 0.0.0.0 for every interface, 127.0.0.1 behind a proxy on the same host',
			},
			...monitorProperties,
		],
	};

	methods = { credentialTest: { whatsAppCloudApiTest, whatsAppComplianceRedisTest } };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const node = this.getNode();
		const credentials = await this.getCredentials('whatsAppCloudApi');
		const appSecret = String(credentials.appSecret ?? '');
		if (!appSecret)
			throw new NodeOperationError(node, 'The WhatsApp Cloud API credential has no App Secret', {
				description:
					'Without it no webhook can be verified. Add the App Secret (Meta app → App settings → Basic) to the credential.',
			});
		const port = Number(this.getNodeParameter('port', DEFAULT_PORT));
		if (!Number.isInteger(port) || port < 1 || port > 65535)
			throw new NodeOperationError(node, `Port ${port} is not a TCP port`, {
				description: 'Use a number from 1 to 65535.',
			});
		const path = `/${String(this.getNodeParameter('path', '/whatsapp'))
			.trim()
			.replace(/^\/+|\/+$/g, '')}`;
		const host = String(this.getNodeParameter('listenAddress', '0.0.0.0')).trim() || '0.0.0.0';

		// Read once: a change to the panel re-activates the workflow, and a request reads no parameter.
		const parameter: ReadParameter = (name, fallback) => this.getNodeParameter(name, fallback);
		const options = monitorOptions(parameter, Date.now());
		const emit = emitSettings(parameter);
		const store = await getComplianceStore(this);
		const logger = this.logger;

		const answer = (res: ServerResponse, { status, body }: DeliveryAnswer) => {
			if (body === undefined) res.writeHead(status).end();
			else res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
		};
		const receive = async (req: IncomingMessage, res: ServerResponse) => {
			const url = new URL(req.url ?? '/', 'http://receiver');
			if (url.pathname.replace(/\/+$/, '') !== path) return answer(res, { status: 404 });
			if (req.method === 'GET') return answer(res, answerChallenge(Object.fromEntries(url.searchParams), credentials));
			if (req.method !== 'POST') return answer(res, { status: 405 });
			const raw = await readBody(req, MAX_BODY_BYTES);
			if (!raw) {
				res.setHeader('Connection', 'close');
				return answer(res, { status: 413 });
			}
			let delivery: DeliveryAnswer;
			try {
				delivery = await receiveDelivery(raw, req.headers['x-hub-signature-256'], {
					appSecret,
					store: async () => store,
					options: () => ({ ...options, now: Date.now() }),
					emit,
				});
			} catch (error) {
				// The store could not take it: Meta retries a 503, and the dedupe marks were not written.
				logger.warn(
					`WhatsApp Delivery Monitor (Own Port): webhook not recorded, Meta will retry: ${(error as Error).message}`,
				);
				return answer(res, { status: 503, body: 'Store unavailable, retry later' });
			}
			answer(res, delivery);
			if (delivery.outputs) this.emit(delivery.outputs);
		};

		const server = createServer((req, res) => {
			receive(req, res).catch((error: Error) => {
				logger.error(`WhatsApp Delivery Monitor (Own Port): ${error.message}`);
				if (!res.headersSent) answer(res, { status: 500 });
				else res.end();
			});
		});
		// A slow or stalled client must not hold a connection for minutes.
		server.requestTimeout = 30_000;
		server.headersTimeout = 20_000;
		try {
			await new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen(port, host, () => {
					server.off('error', reject);
					resolve();
				});
			});
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			throw new NodeOperationError(
				node,
				code === 'EADDRINUSE'
					? `Port ${port} on ${host} is already in use`
					: `Cannot listen on ${host}:${port}: ${describeSystemError(error as Error)}`,
				{
					description:
						code === 'EADDRINUSE'
							? 'Another program listens there: n8n itself, another active workflow with this trigger, or this workflow being tested in the editor while it is active. Choose another Port or stop the other listener.'
							: 'Check the Listen Address (an address of this machine, or 0.0.0.0) and that n8n may open this port.',
				},
			);
		}
		logger.info(`WhatsApp Delivery Monitor (Own Port) listening on ${host}:${port}${path}`);

		return {
			closeFunction: async () => {
				server.closeAllConnections();
				await new Promise<void>((resolve) => server.close(() => resolve()));
			},
		};
	}
}

/** The request body, or undefined when it exceeds `limit` bytes (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
	if (Number(req.headers['content-length'] ?? 0) > limit) return undefined;
	const chunks: Buffer[] = [];
	let length = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		length += chunk.length;
		if (length > limit) return undefined;
		chunks.push(chunk);
	}
	return Buffer.concat(chunks);
}
