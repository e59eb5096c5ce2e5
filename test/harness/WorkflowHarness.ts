/**
 * Runs a real workflow JSON through n8n-core's WorkflowExecute with this package's nodes and
 * credentials, the way n8n's own NodeTestHarness does (which is not published on npm).
 *
 * Node and credential types are found through package.json's `n8n` section (dist/….js mapped back
 * to the TypeScript source), so a node missing from package.json is missing here too.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	ICredentialsHelper,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type ICredentialType,
	type IDataObject,
	type IHttpRequestOptions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypes,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

import { harnessNodeTypes } from './harnessNodes';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
	name: string;
	n8n: { nodes: string[]; credentials: string[] };
};
export const PACKAGE_NAME = packageJson.name;

function sourceOf(distPath: string) {
	return path.join(PACKAGE_ROOT, distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

function loadClass<T>(distPath: string): T {
	const module = require(sourceOf(distPath)) as Record<string, new () => T>;
	const exported = Object.values(module).find((value) => typeof value === 'function');
	if (!exported) throw new Error(`${distPath}: no exported class`);
	return new exported();
}

let cachedNodeTypes: Map<string, INodeType | IVersionedNodeType> | undefined;
let cachedCredentialTypes: Map<string, ICredentialType> | undefined;

/** This package's nodes by their full type name (`n8n-nodes-whatsapp-compliance.<name>`), plus the harness's helpers. */
export function packageNodeTypes() {
	if (!cachedNodeTypes) {
		cachedNodeTypes = new Map(harnessNodeTypes());
		for (const file of packageJson.n8n.nodes) {
			const nodeType = loadClass<INodeType | IVersionedNodeType>(file);
			cachedNodeTypes.set(`${PACKAGE_NAME}.${nodeType.description.name}`, nodeType);
		}
	}
	return cachedNodeTypes;
}

export function packageCredentialTypes() {
	if (!cachedCredentialTypes) {
		cachedCredentialTypes = new Map();
		for (const file of packageJson.n8n.credentials) {
			const credentialType = loadClass<ICredentialType>(file);
			cachedCredentialTypes.set(credentialType.name, credentialType);
		}
	}
	return cachedCredentialTypes;
}

class HarnessNodeTypes implements INodeTypes {
	getByName(type: string) {
		const nodeType = packageNodeTypes().get(type);
		if (!nodeType) throw new Error(`Unknown node type ${type}: is it listed in package.json's n8n.nodes?`);
		return nodeType;
	}

	getByNameAndVersion(type: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(type), version);
	}

	getKnownTypes(): IDataObject {
		return {};
	}
}

/** Hands each node the decrypted credential data the test supplied, by credential type. */
class HarnessCredentialsHelper extends ICredentialsHelper {
	private readonly data: Record<string, ICredentialDataDecryptedObject>;

	constructor(data: Record<string, ICredentialDataDecryptedObject>) {
		super();
		this.data = data;
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(credentials: ICredentialDataDecryptedObject, typeName: string, request: IHttpRequestOptions) {
		const type = packageCredentialTypes().get(typeName);
		if (typeof type?.authenticate === 'function') return await type.authenticate(credentials, request);
		return request;
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('the harness serves decrypted credentials only');
	}

	async getDecrypted(_additionalData: IWorkflowExecuteAdditionalData, _node: unknown, type: string) {
		const data = this.data[type];
		if (!data) throw new Error(`The test supplied no credentials of type ${type}`);
		return data;
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}

	getCredentialsProperties() {
		return [];
	}
}

export function harnessAdditionalData(credentials: Record<string, ICredentialDataDecryptedObject>) {
	return {
		credentialsHelper: new HarnessCredentialsHelper(credentials),
		executeWorkflow: async () => {
			throw new Error('sub-workflows are not supported by the harness');
		},
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		currentNodeExecutionIndex: 0,
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678/',
		formBaseUrl: 'http://127.0.0.1:5678/form',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1:5678/form-test',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		mcpBaseUrl: 'http://127.0.0.1:5678/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1:5678/mcp-test',
		variables: {},
		logAiEvent: () => undefined,
		startRunnerTask: async () => {
			throw new Error('task runners are not supported by the harness');
		},
	};
}

/** The node types the harness knows: this package's and its stand-ins for n8n-nodes-base. */
export function harnessNodeTypeRegistry(): INodeTypes {
	return new HarnessNodeTypes();
}

export interface RunOptions {
	/** Items the start node emits (pinned data of the trigger, in editor terms). */
	items?: IDataObject[];
	/** Decrypted credential data by credential type name. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	mode?: WorkflowExecuteMode;
	/** Overrides of node parameters by node name, merged over the JSON's. */
	parameters?: Record<string, IDataObject>;
}

export interface HarnessResult {
	run: IRun;
	status: IRun['status'];
	/** The error that stopped the workflow, if any (message of the node's error). */
	error?: { message: string; description?: string | null; node?: string };
	/** The items a node emitted on each of its outputs, in its first run. */
	outputs(nodeName: string): INodeExecutionData[][];
	/** The JSON of the items on one output. */
	json(nodeName: string, outputIndex?: number): IDataObject[];
	nodeExecutionOrder: string[];
}

export function readWorkflow(file: string): IWorkflowBase {
	const resolved = path.isAbsolute(file) ? file : path.join(PACKAGE_ROOT, 'test', 'workflows', file);
	return JSON.parse(readFileSync(resolved, 'utf8')) as IWorkflowBase;
}

/** Executes a workflow (object or path under test/workflows) to the end and returns its run. */
export async function runWorkflow(
	workflowOrFile: IWorkflowBase | string,
	options: RunOptions = {},
): Promise<HarnessResult> {
	const workflowData =
		typeof workflowOrFile === 'string' ? readWorkflow(workflowOrFile) : structuredClone(workflowOrFile);
	for (const [name, parameters] of Object.entries(options.parameters ?? {})) {
		const node = workflowData.nodes.find((n) => n.name === name);
		if (!node) throw new Error(`No node named ${name} in the workflow`);
		node.parameters = { ...node.parameters, ...parameters } as typeof node.parameters;
	}
	const nodeTypes = new HarnessNodeTypes();
	// As an operator would in the editor: assign each supplied credential to the nodes that take it.
	for (const node of workflowData.nodes) {
		const declared =
			NodeHelpers.getVersionedNodeType(nodeTypes.getByName(node.type), node.typeVersion).description.credentials ?? [];
		for (const { name } of declared) {
			if (options.credentials?.[name] && !node.credentials?.[name]) {
				node.credentials = { ...node.credentials, [name]: { id: `harness-${name}`, name: `Test ${name}` } };
			}
		}
	}
	const workflow = new Workflow({
		id: workflowData.id ?? 'harness',
		name: workflowData.name,
		nodes: workflowData.nodes,
		connections: workflowData.connections,
		nodeTypes,
		settings: workflowData.settings,
		staticData: workflowData.staticData,
		active: false,
	});
	const mode = options.mode ?? 'manual';
	const hooks = new ExecutionLifecycleHooks(mode, 'harness-execution', workflowData);
	const nodeExecutionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName: string) => {
		nodeExecutionOrder.push(nodeName);
	});
	const finished = Promise.withResolvers<IRun>();
	hooks.addHandler('workflowExecuteAfter', (fullRunData: IRun) => finished.resolve(fullRunData));

	const additionalData = {
		...harnessAdditionalData(options.credentials ?? {}),
		hooks,
		workflowId: workflowData.id,
	} as unknown as IWorkflowExecuteAdditionalData;

	const startNode =
		workflowData.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger') ?? workflow.getStartNode();
	if (!startNode) throw new Error('The workflow has no start node');
	const items = (options.items ?? [{}]).map((json) => ({ json }));
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: workflow.getNode(startNode.name)!, data: { main: [items] }, source: null }],
		},
	});

	const workflowExecute = new WorkflowExecute(additionalData, mode, runExecutionData);
	await workflowExecute.processRunExecutionData(workflow);
	const run = await finished.promise;

	const runData = run.data.resultData.runData;
	const outputs = (nodeName: string) => {
		const task = runData[nodeName]?.[0];
		if (!task) throw new Error(`Node "${nodeName}" did not run (ran: ${Object.keys(runData).join(', ')})`);
		return (task.data?.main ?? []).map((items: INodeExecutionData[] | null) => items ?? []);
	};
	const resultError = run.data.resultData.error as
		{ message: string; description?: string | null; node?: { name: string } } | undefined;
	return {
		run,
		status: run.status,
		error: resultError
			? { message: resultError.message, description: resultError.description, node: resultError.node?.name }
			: undefined,
		outputs,
		json: (nodeName, outputIndex = 0) =>
			(outputs(nodeName)[outputIndex] ?? []).map((item: INodeExecutionData) => item.json),
		nodeExecutionOrder,
	};
}
