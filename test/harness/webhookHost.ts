/**
 * Hosts a trigger node's webhook() behind a real HTTP server, through n8n-core's WebhookContext, the
 * way n8n's webhook server calls it: express-like request (with `rawBody`, as n8n keeps it) and
 * response objects, the node's credentials and parameters. Each `workflowData` the node returns is
 * recorded as the execution n8n would start.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { TriggerContext, WebhookContext } from 'n8n-core';
import {
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type INodeExecutionData,
	type ITriggerFunctions,
	type IWebhookData,
	type IWebhookFunctions,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

import { freePort } from '../helpers/freePort';
import { harnessAdditionalData, harnessNodeTypeRegistry, PACKAGE_NAME } from './WorkflowHarness';

export interface WebhookHost {
	url: string;
	/** Every execution the trigger started: items per output. */
	executions: INodeExecutionData[][][];
	close(): Promise<void>;
}

/** The few express methods nodes use on the response. */
function expressResponse(res: ServerResponse) {
	const shim = res as ServerResponse & {
		status(code: number): typeof shim;
		type(t: string): typeof shim;
		send(body?: unknown): typeof shim;
		json(body: unknown): typeof shim;
	};
	shim.status = (code) => {
		res.statusCode = code;
		return shim;
	};
	shim.type = (type) => {
		res.setHeader('Content-Type', type);
		return shim;
	};
	shim.send = (body) => {
		res.end(
			body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
		);
		return shim;
	};
	shim.json = (body) => {
		res.setHeader('Content-Type', 'application/json');
		res.end(JSON.stringify(body));
		return shim;
	};
	return shim;
}

export async function startWebhookHost(
	nodeName: string,
	parameters: IDataObject,
	credentials: Record<string, ICredentialDataDecryptedObject>,
): Promise<WebhookHost> {
	const type = `${PACKAGE_NAME}.${nodeName}`;
	const nodeTypes = harnessNodeTypeRegistry();
	const nodeType = NodeHelpers.getVersionedNodeType(nodeTypes.getByName(type), 1);
	const node = {
		id: 'monitor',
		name: 'Monitor',
		type,
		typeVersion: 1,
		position: [0, 0] as [number, number],
		parameters: parameters as never,
		credentials: Object.fromEntries(Object.keys(credentials).map((name) => [name, { id: `harness-${name}`, name }])),
	};
	const workflow = new Workflow({ id: 'webhook-host', nodes: [node], connections: {}, nodeTypes, active: true });
	const executions: INodeExecutionData[][][] = [];

	const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', async () => {
			const rawBody = Buffer.concat(chunks);
			const url = new URL(req.url ?? '/', 'http://host');
			let body: unknown = {};
			try {
				body = rawBody.length ? JSON.parse(rawBody.toString('utf8')) : {};
			} catch {
				// n8n answers 400 itself for unparseable JSON only when it parses; the node sees rawBody.
			}
			const request = Object.assign(req, { body, rawBody, query: Object.fromEntries(url.searchParams) });
			const response = expressResponse(res);
			const description = nodeType.description.webhooks!.find((w) => w.httpMethod === req.method);
			if (!description) {
				response.status(404).send('No webhook for this method');
				return;
			}
			const additionalData = {
				...harnessAdditionalData(credentials),
				httpRequest: request,
				httpResponse: response,
			} as unknown as IWorkflowExecuteAdditionalData;
			const webhookData: IWebhookData = {
				httpMethod: req.method as IWebhookData['httpMethod'],
				node: node.name,
				path: String(description.path),
				webhookDescription: description,
				workflowId: 'webhook-host',
				workflowExecuteAdditionalData: additionalData,
			};
			try {
				const context = new WebhookContext(
					workflow,
					workflow.getNode(node.name)!,
					additionalData,
					'webhook',
					webhookData,
					[],
					null,
				);
				const result: IWebhookResponseData = await nodeType.webhook!.call(context as unknown as IWebhookFunctions);
				if (result.workflowData) executions.push(result.workflowData);
				if (!result.noWebhookResponse && !res.writableEnded)
					response.status(200).json({ message: 'Workflow was started' });
			} catch (error) {
				if (!res.writableEnded) response.status(500).send(String((error as Error).message));
			}
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}/webhook/whatsapp`,
		executions,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

/**
 * Hosts a trigger node that runs its own HTTP server (the Delivery Monitor's Own Port variant) the way
 * n8n activates it: trigger() through n8n-core's TriggerContext, each `emit` recorded as the execution
 * n8n would start; `close` runs the node's closeFunction, as deactivation does. On a free loopback port
 * unless `parameters.port` names one.
 */
export async function startTriggerHost(
	nodeName: string,
	parameters: IDataObject,
	credentials: Record<string, ICredentialDataDecryptedObject>,
	path = '/whatsapp',
): Promise<WebhookHost> {
	const type = `${PACKAGE_NAME}.${nodeName}`;
	const nodeTypes = harnessNodeTypeRegistry();
	const nodeType = NodeHelpers.getVersionedNodeType(nodeTypes.getByName(type), 1);
	const port = Number(parameters.port ?? (await freePort()));
	const node = {
		id: 'monitor',
		name: 'Monitor',
		type,
		typeVersion: 1,
		position: [0, 0] as [number, number],
		parameters: { ...parameters, port, path, listenAddress: '127.0.0.1' } as never,
		credentials: Object.fromEntries(Object.keys(credentials).map((name) => [name, { id: `harness-${name}`, name }])),
	};
	const workflow = new Workflow({ id: 'trigger-host', nodes: [node], connections: {}, nodeTypes, active: true });
	const executions: INodeExecutionData[][][] = [];
	const context = new TriggerContext(
		workflow,
		workflow.getNode(node.name)!,
		harnessAdditionalData(credentials) as unknown as IWorkflowExecuteAdditionalData,
		'trigger',
		'activate',
		(data) => void executions.push(data),
		(error) => {
			throw error;
		},
	);
	const response = await nodeType.trigger!.call(context as unknown as ITriggerFunctions);
	return {
		url: `http://127.0.0.1:${port}${path}`,
		executions,
		close: async () => await response?.closeFunction?.(),
	};
}
