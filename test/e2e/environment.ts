/**
 * A campaign set-up inside real n8n: the Cloud API sandbox (in this process, posting its signed status
 * webhooks to the Delivery Monitor's production URL) and n8n (a child process) with this package
 * installed from its tarball, the credential created and the workflows imported and activated through
 * n8n's REST API. Shared by the end-to-end test, `npm run demo` and the benchmarks.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { parseCallbackData } from '../../nodes/core/callbackData';
import { CloudApiSandbox, type SandboxOptions } from '../sandbox/server.ts';
import { e164Of, type Contact, type ContactKind } from './contacts.ts';
import { freePort } from '../helpers/freePort';
import { startPostgresServer, type PostgresServer } from '../helpers/postgresServer';
import { startRedisServer, TEST_CONTACT_KEY_SECRET, type RedisServer } from '../helpers/redisServer';
import {
	ensureN8nInstalled,
	installPackageLikeTheUi,
	N8nInstance,
	packPackage,
	REPO_ROOT,
	sleep,
} from './n8nInstance.ts';

export interface WorkflowNode {
	name: string;
	type: string;
	typeVersion: number;
	parameters: Record<string, unknown>;
	webhookId?: string;
}

export const MONITOR_PATH = 'whatsapp-delivery-monitor/whatsapp';

/** Where each item can leave the campaign workflow for good. */
const TERMINAL_OUTPUTS = [
	{ node: 'Number Validation', output: 1, state: 'invalid', result: 'whatsapp' },
	{ node: 'Consent Gate', output: 1, state: 'blocked', result: 'consent' },
	{ node: 'Frequency Cap', output: 1, state: 'deferred', result: 'frequencyCap' },
	{ node: 'Template Send', output: 0, state: 'sent', result: 'whatsappSend' },
	{ node: 'Template Send', output: 1, state: 'failed', result: 'whatsappSend' },
	{ node: 'Template Send', output: 2, state: 'notSent', result: 'whatsappSend' },
] as const;

export type TerminalState = (typeof TERMINAL_OUTPUTS)[number]['state'];

export interface CampaignOutcome {
	executionId: string;
	status: string;
	/** Every terminal output an item reached, by contact ID (exactly one each when nothing is lost). */
	states: Map<string, Array<{ state: TerminalState; reason?: string; result: Record<string, unknown> }>>;
	counts: Record<TerminalState, number>;
	/** Items in terminal outputs by state and reason, e.g. `invalid:DUPLICATE`. */
	byReason: Record<string, number>;
}

export interface EnvironmentOptions {
	log?: (line: string) => void;
	sandbox?: SandboxOptions;
	/** Keep the n8n user folder for later runs (the demo); default: a fresh temporary folder. */
	userFolder?: string;
	n8nPort?: number;
	/** Extra environment for n8n (a function to use the sandbox's address). */
	n8nEnv?: Record<string, string> | ((sandbox: CloudApiSandbox) => Record<string, string>);
	/**
	 * n8n in queue mode, as n8n documents it for scaling: a private PostgreSQL and redis-server, the main
	 * process (editor, REST API; no production webhooks), `workers` worker processes at `concurrency`
	 * and one webhook process, all sharing the user folder the package is installed in. The package's
	 * nodes use the Redis store (a credential on the same redis-server, database 1).
	 */
	queueMode?: { workers: number; concurrency: number };
}

/** The processes and servers of a queue-mode set-up, beside the main process. */
interface QueueMode {
	postgres: PostgresServer;
	redis: RedisServer;
	workers: N8nInstance[];
	webhook: N8nInstance;
}

export class CampaignEnvironment {
	workflowIds: Record<string, string> = {};
	webhookPaths: Record<string, string> = {};
	credentialId = '';

	/** The main process: the REST API the editor uses. */
	readonly n8n: N8nInstance;
	/** The process serving production webhooks: the main one, or in queue mode the webhook process. */
	readonly webhooks: N8nInstance;
	readonly sandbox: CloudApiSandbox;
	readonly queue?: QueueMode;
	redisCredentialId = '';
	private readonly ownsUserFolder: boolean;

	private constructor(n8n: N8nInstance, sandbox: CloudApiSandbox, ownsUserFolder: boolean, queue?: QueueMode) {
		this.n8n = n8n;
		this.webhooks = queue?.webhook ?? n8n;
		this.sandbox = sandbox;
		this.ownsUserFolder = ownsUserFolder;
		this.queue = queue;
	}

	static async start(options: EnvironmentOptions = {}): Promise<CampaignEnvironment> {
		const log = options.log ?? (() => {});
		await ensureN8nInstalled(log);
		const userFolder = options.userFolder ?? (await mkdtemp(path.join(os.tmpdir(), 'wa-n8n-')));
		log('Packing this package and installing it into n8n’s community nodes folder…');
		const tarball = await packPackage();
		try {
			await installPackageLikeTheUi(userFolder, tarball);
		} finally {
			// The tarball's temporary folder is not left behind in the system's temp directory.
			await rm(path.dirname(tarball), { recursive: true, force: true });
		}
		const sandbox = await CloudApiSandbox.start({ latencyMs: 20, recordBodies: true, ...options.sandbox });
		log(`Cloud API sandbox on ${sandbox.baseUrl}; starting n8n…`);
		let n8n: N8nInstance;
		let queue: QueueMode | undefined;
		const started: Array<{ stop(): Promise<void> }> = [];
		try {
			const env = typeof options.n8nEnv === 'function' ? options.n8nEnv(sandbox) : options.n8nEnv;
			if (options.queueMode) {
				const postgres = await startPostgresServer();
				started.push(postgres);
				const redis = await startRedisServer();
				started.push(redis);
				const webhookPort = await freePort();
				const queueEnv = {
					EXECUTIONS_MODE: 'queue',
					QUEUE_BULL_REDIS_HOST: redis.host,
					QUEUE_BULL_REDIS_PORT: String(redis.port),
					DB_TYPE: 'postgresdb',
					DB_POSTGRESDB_HOST: postgres.host,
					DB_POSTGRESDB_PORT: String(postgres.port),
					DB_POSTGRESDB_DATABASE: postgres.database,
					DB_POSTGRESDB_USER: postgres.user,
					// Production webhooks go to the webhook process only.
					N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
					N8N_WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/`,
					...env,
				};
				log(`queue mode: PostgreSQL on ${postgres.port}, Redis on ${redis.port}; main process first (migrations)…`);
				n8n = await N8nInstance.start({ userFolder, port: options.n8nPort, env: queueEnv });
				started.push(n8n);
				const [webhook, ...workers] = await Promise.all([
					N8nInstance.start({ userFolder, command: 'webhook', port: webhookPort, env: queueEnv }),
					...Array.from({ length: options.queueMode.workers }, () =>
						N8nInstance.start({
							userFolder,
							command: 'worker',
							args: [`--concurrency=${options.queueMode!.concurrency}`],
							env: queueEnv,
						}),
					),
				]);
				queue = { postgres, redis, webhook, workers };
			} else {
				n8n = await N8nInstance.start({ userFolder, port: options.n8nPort, env });
			}
		} catch (error) {
			for (const server of started.reverse()) await server.stop().catch(() => undefined);
			await sandbox.close();
			throw error;
		}
		const webhooks = queue?.webhook ?? n8n;
		sandbox.webhook = {
			url: `${webhooks.baseUrl}/webhook/${MONITOR_PATH}`,
			appSecret: 'sandbox-app-secret',
			batchSize: 100,
			// Meta retries a webhook n8n did not answer (down, restarting) for days; a few minutes here.
			attempts: 40,
			...options.sandbox?.webhook,
		};
		const environment = new CampaignEnvironment(n8n, sandbox, options.userFolder === undefined, queue);
		await n8n.setupOwner();
		return environment;
	}

	/** Creates the Cloud API credential (pointing at the sandbox) and imports + activates the workflows. */
	async provision(workflows: Record<string, string>, credentialOverrides: Record<string, string> = {}): Promise<void> {
		const credential = await this.n8n.createCredential(
			'WhatsApp Cloud API (sandbox)',
			'whatsAppCloudApi',
			this.sandbox.credentials({ appSecret: this.sandbox.webhook!.appSecret, ...credentialOverrides }),
		);
		this.credentialId = credential.id;
		if (this.queue) {
			const redis = await this.n8n.createCredential('WhatsApp Compliance Redis', 'whatsAppComplianceRedisApi', {
				host: this.queue.redis.host,
				port: this.queue.redis.port,
				database: 1,
				prefix: 'wac:',
				contactKeySecret: TEST_CONTACT_KEY_SECRET,
			});
			this.redisCredentialId = redis.id;
		}
		for (const [key, file] of Object.entries(workflows))
			await this.addWorkflow(key, loadWorkflow(file, this.credentialId));
	}

	/** In queue mode, every node of this package uses the Redis store (the built-in one is refused there). */
	private onThisSetUp(workflow: Record<string, unknown>): Record<string, unknown> {
		if (!this.queue) return workflow;
		const copy = structuredClone(workflow) as {
			nodes: Array<WorkflowNode & { credentials?: Record<string, unknown> }>;
		};
		for (const node of copy.nodes) {
			if (!node.type.startsWith('n8n-nodes-whatsapp-compliance.')) continue;
			node.parameters.store = 'redis';
			node.credentials = {
				...node.credentials,
				whatsAppComplianceRedisApi: { id: this.redisCredentialId, name: 'WhatsApp Compliance Redis' },
			};
		}
		return copy as unknown as Record<string, unknown>;
	}

	/** Creates and activates a workflow; a webhook-triggered one is then run by `runCampaign(…, key)`. */
	async addWorkflow(key: string, original: Record<string, unknown>): Promise<string> {
		const workflow = this.onThisSetUp(original);
		const created = await this.n8n.createWorkflow(workflow);
		this.workflowIds[key] = created.id;
		const webhook = (workflow.nodes as WorkflowNode[]).find((n) => n.type === 'n8n-nodes-base.webhook');
		if (webhook) this.webhookPaths[key] = String(webhook.parameters.path);
		await this.n8n.activate(created.id);
		if (webhook) await this.webhooks.waitForWebhook(this.webhookPaths[key]);
		return created.id;
	}

	/**
	 * Adds and activates a Delivery Monitor (Own Port) workflow listening on a free loopback port, and
	 * returns its URL once it answers (activation returns before the trigger listens).
	 */
	async addOwnPortMonitor(key = 'ownPort'): Promise<string> {
		const port = await freePort();
		const workflow = loadWorkflow('test/e2e/workflows/delivery-monitor-own-port.json', this.credentialId) as {
			nodes: WorkflowNode[];
		};
		workflow.nodes[0].parameters.port = port;
		await this.addWorkflow(key, workflow);
		const url = `http://127.0.0.1:${port}/whatsapp`;
		for (let i = 0; i < 100; i++) {
			const listening = await fetch(url).then(
				(r) => r.status === 403,
				() => false,
			);
			if (listening) return url;
			await sleep(100);
		}
		throw new Error(`the Own Port monitor did not listen on ${url}\n${this.n8n.output.slice(-2000)}`);
	}

	/** Restarts n8n (same user folder) and waits until its production webhooks answer again. */
	async restartN8n(extraEnv: Record<string, string> = {}): Promise<void> {
		await this.n8n.restart(extraEnv);
		for (const webhookPath of Object.values(this.webhookPaths)) await this.webhooks.waitForWebhook(webhookPath);
	}

	/** POSTs a campaign to the campaign workflow's production webhook and collects every item's terminal state. */
	async runCampaign(campaignId: string, contacts: Contact[], workflow = 'campaign'): Promise<CampaignOutcome> {
		const before = await this.executionIds(workflow);
		const response = await this.webhooks.postWebhook(this.webhookPaths[workflow], { campaignId, contacts });
		if (response.status !== 200)
			throw new Error(`campaign webhook answered ${response.status}: ${JSON.stringify(response.body).slice(0, 500)}`);
		return await this.campaignOutcome(before, workflow);
	}

	async executionIds(workflow = 'campaign'): Promise<Set<string>> {
		return new Set((await this.n8n.executions(this.workflowIds[workflow])).map((e) => e.id));
	}

	/** The outcome of the newest execution of a campaign workflow not in `before`. */
	async campaignOutcome(before: Set<string>, workflow = 'campaign'): Promise<CampaignOutcome> {
		const executions = await this.finishedExecutions(before, 1, workflow);
		const execution = executions.sort((a, b) => Number(b.id) - Number(a.id))[0];
		return await this.executionOutcome(execution);
	}

	/**
	 * The executions of a workflow not in `before`, once at least `count` exist and all have finished:
	 * a workflow that answers from a Respond to Webhook node answers before n8n has saved its end.
	 */
	async finishedExecutions(
		before: Set<string>,
		count: number,
		workflow = 'campaign',
	): Promise<Array<{ id: string; status: string }>> {
		const deadline = Date.now() + 60_000;
		for (;;) {
			const executions = (await this.n8n.executions(this.workflowIds[workflow])).filter((e) => !before.has(e.id));
			const settled = executions.every((e) => !['new', 'running', 'waiting'].includes(e.status));
			if (executions.length >= count && settled) return executions;
			if (Date.now() > deadline)
				throw new Error(
					`${executions.length} of ${count} new executions of ${workflow}, not all finished: ${executions.map((e) => e.status).join(', ')}`,
				);
			await sleep(200);
		}
	}

	/** Every item's terminal state in one execution of a campaign workflow. */
	async executionOutcome(execution: { id: string; status: string }): Promise<CampaignOutcome> {
		const outputs = await this.n8n.executionOutputs(execution.id);
		const states: CampaignOutcome['states'] = new Map();
		const counts = { invalid: 0, blocked: 0, deferred: 0, sent: 0, failed: 0, notSent: 0 };
		const byReason: Record<string, number> = {};
		for (const terminal of TERMINAL_OUTPUTS) {
			for (const item of outputs[terminal.node]?.[terminal.output] ?? []) {
				const result = (item.json[terminal.result] ?? {}) as Record<string, unknown>;
				const reason = (result.reason ?? result.status) as string | undefined;
				const contactId = String(item.json.contactId);
				states.set(contactId, [...(states.get(contactId) ?? []), { state: terminal.state, reason, result }]);
				counts[terminal.state]++;
				const key = `${terminal.state}:${reason ?? ''}`;
				byReason[key] = (byReason[key] ?? 0) + 1;
			}
		}
		return { executionId: execution.id, status: execution.status, states, counts, byReason };
	}

	/**
	 * Gives a messy list the history it claims: two earlier campaigns reached `overCap` (the cap allows
	 * 2 marketing messages per window), one of them bounced `notOnWhatsApp` (131026, which the Delivery
	 * Monitor records), and `stoppedEarlier` replied STOP.
	 */
	async prepareHistory(byKind: Record<ContactKind, Contact[]>, prefix: string): Promise<void> {
		for (const c of byKind.notOnWhatsApp) this.sandbox.setOutcome(e164Of(c)!, { kind: 'failLater', code: 131026 });
		const history: Array<[string, Contact[]]> = [
			[`${prefix}-history-1`, [...byKind.overCap, ...byKind.notOnWhatsApp]],
			[`${prefix}-history-2`, byKind.overCap],
		];
		for (const [campaign, contacts] of history) {
			if (contacts.length === 0) continue;
			const outcome = await this.runCampaign(campaign, contacts);
			if (outcome.status !== 'success') throw new Error(`history campaign ${campaign} ended ${outcome.status}`);
		}
		for (const c of byKind.stoppedEarlier) this.sandbox.injectInboundText(e164Of(c)!, 'STOP');
		await this.sandbox.flushWebhooks();
		for (const c of byKind.notOnWhatsApp) this.sandbox.clearOutcome(e164Of(c)!);
	}

	/** Sends a Slack-style command (`pause <campaign>`, `resume <campaign>`, `report <campaign>`) to Campaign Control. */
	async campaignControl(text: string): Promise<Record<string, unknown>> {
		let response = await this.webhooks.postWebhook('whatsapp-campaign-control', { text, user_name: 'e2e' });
		// n8n answers 503 ("Database is not ready!") while its own database check is failing under load.
		for (let retry = 0; response.status === 503 && retry < 10; retry++) {
			await sleep(1_000);
			response = await this.webhooks.postWebhook('whatsapp-campaign-control', { text, user_name: 'e2e' });
		}
		if (response.status !== 200)
			throw new Error(`campaign control answered ${response.status}: ${JSON.stringify(response.body).slice(0, 300)}`);
		return response.body as Record<string, unknown>;
	}

	/** Recipients the sandbox accepted a message for in this campaign (its ground truth). */
	acceptedFor(campaignId: string): string[] {
		return this.sandbox
			.acceptedSends()
			.filter(
				(r) =>
					parseCallbackData((r.body as { biz_opaque_callback_data?: string })?.biz_opaque_callback_data).campaignId ===
					campaignId,
			)
			.map((r) => r.to!);
	}

	async close(): Promise<void> {
		if (this.queue) await Promise.all([this.queue.webhook.stop(), ...this.queue.workers.map((w) => w.stop())]);
		await this.n8n.stop();
		if (this.queue) {
			await this.queue.redis.stop();
			await this.queue.postgres.stop();
		}
		await this.sandbox.close();
		if (this.ownsUserFolder) await rm(this.n8n.userFolder, { recursive: true, force: true });
	}
}

/** A workflow file (repo-relative) with its credential placeholders pointed at `credentialId`. */
export function loadWorkflow(file: string, credentialId: string): Record<string, unknown> {
	const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
	return JSON.parse(text.replaceAll('REPLACE_WITH_CREDENTIAL_ID', credentialId));
}
