/**
 * A real n8n 2.x for end-to-end tests, the demo and the benchmarks: installed once into a cache folder
 * outside the repo, with this package installed into its user folder the way n8n's Community Nodes UI
 * installs a package, and driven over n8n's own REST API and production webhook URLs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from '../helpers/freePort';

const run = promisify(execFile);

export const N8N_VERSION = '2.41.1';
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const PACKAGE_NAME = 'n8n-nodes-whatsapp-compliance';

export const OWNER = {
	email: 'demo@example.com',
	password: 'Demo-password-1',
	firstName: 'Demo',
	lastName: 'Operator',
};

/** Where n8n is installed: reused by every run on this machine (about 3 GB). */
export function n8nCacheDir(): string {
	return (
		process.env.N8N_E2E_CACHE ??
		path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), PACKAGE_NAME, `n8n-${N8N_VERSION}`)
	);
}

function n8nBin(cacheDir = n8nCacheDir()): string {
	return path.join(cacheDir, 'node_modules', 'n8n', 'bin', 'n8n');
}

type Log = (line: string) => void;

/**
 * Installs n8n into the cache folder unless a finished install is there. `--ignore-scripts` because
 * some optional native add-ons download sources at install time (unreachable here); sqlite3, the one
 * n8n's default database needs, is then rebuilt from its bundled sources.
 */
export async function ensureN8nInstalled(log: Log = () => {}): Promise<string> {
	const dir = n8nCacheDir();
	const marker = path.join(dir, '.installed');
	if (existsSync(marker) && existsSync(n8nBin(dir))) return dir;
	// One installer at a time (parallel test files, a demo started twice): mkdir is atomic.
	const lock = `${dir}.lock`;
	await mkdir(path.dirname(dir), { recursive: true });
	for (;;) {
		try {
			await mkdir(lock);
			break;
		} catch {
			// A lock older than any install is one a killed installer left behind.
			const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
			if (age > 30 * 60_000) await rm(lock, { recursive: true, force: true });
			log(`Waiting for another process installing n8n (${lock})…`);
			await sleep(5_000);
			if (existsSync(marker)) return dir;
		}
	}
	try {
		if (existsSync(marker) && existsSync(n8nBin(dir))) return dir;
		await install(dir, marker, log);
	} finally {
		await rm(lock, { recursive: true, force: true });
	}
	return dir;
}

async function install(dir: string, marker: string, log: Log) {
	await mkdir(dir, { recursive: true });
	await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'n8n-e2e-host', private: true }));
	log(`Installing n8n ${N8N_VERSION} into ${dir} (first time only: a few minutes, about 3 GB)…`);
	await runStreaming(
		'npm',
		['install', `n8n@${N8N_VERSION}`, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
		dir,
		log,
	);
	log('Building sqlite3 for this Node version…');
	// Against the headers of the Node that runs this, whatever the user's npm config says (a `nodedir`
	// for another Node would build a module that does not load; none makes node-gyp download them,
	// which fails offline). The command-line flag outranks every npmrc.
	const headers = nodeHeadersDir();
	const nodedir = headers ? [`--nodedir=${headers}`] : [];
	await runStreaming('npm', ['rebuild', 'sqlite3', ...nodedir, '--loglevel=error'], dir, log);
	await writeFile(marker, `${N8N_VERSION} ${new Date().toISOString()}\n`);
	log('n8n installed.');
}

/**
 * The folder holding `include/node` for the running Node, when it is on disk: beside a standard
 * install (`<prefix>/include/node`), or inside the npm registry's `node` package
 * (`node/node_modules/node-<platform>-<arch>/include/node`). Undefined when none matches this version.
 */
export function nodeHeadersDir(execPath = process.execPath): string | undefined {
	const major = process.versions.node.split('.')[0];
	const bin = path.dirname(realpathSync(execPath));
	const candidates = [
		path.resolve(bin, '..'),
		path.resolve(bin, '..', 'node_modules', `node-${process.platform}-${process.arch}`),
	];
	return candidates.find((dir) => {
		try {
			const version = readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
			return new RegExp(`#define NODE_MAJOR_VERSION ${major}\\b`).test(version);
		} catch {
			return false;
		}
	});
}

/** Runs a command, printing a heartbeat every 15 s so a long install does not look stuck. */
function runStreaming(command: string, args: string[], cwd: string, log: Log): Promise<void> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
		const heartbeat = setInterval(
			() => log(`  … ${command} ${args[0]} still running (${Math.round((Date.now() - started) / 1000)} s)`),
			15_000,
		);
		child.on('exit', (code) => {
			clearInterval(heartbeat);
			if (code === 0) resolve();
			else reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`));
		});
	});
}

/** `npm pack` of this repo (built `dist/` must exist) into a temporary folder; returns the tarball path. */
export async function packPackage(): Promise<string> {
	if (!existsSync(path.join(REPO_ROOT, 'dist', 'nodes')))
		throw new Error('dist/ is missing: run `npm run build` before packing');
	const dir = await mkdtemp(path.join(os.tmpdir(), 'wa-pack-'));
	const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--loglevel=error'], {
		cwd: REPO_ROOT,
	});
	return path.join(dir, stdout.trim().split('\n').at(-1)!);
}

/**
 * Installs the tarball into `<userFolder>/.n8n/nodes` exactly as n8n's Community Nodes UI does
 * (CommunityPackagesService.downloadPackage): unpack into `nodes/node_modules/<name>`, drop dev and peer
 * dependencies (n8n provides n8n-workflow through NODE_PATH), `npm install` its own dependencies
 * without scripts, and record it in `nodes/package.json`.
 */
export async function installPackageLikeTheUi(userFolder: string, tarball: string): Promise<void> {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const packageDir = path.join(nodesDir, 'node_modules', PACKAGE_NAME);
	await rm(packageDir, { recursive: true, force: true });
	await mkdir(packageDir, { recursive: true });
	await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
	const manifestPath = path.join(packageDir, 'package.json');
	const { devDependencies, peerDependencies, optionalDependencies, ...manifest } = JSON.parse(
		await readFile(manifestPath, 'utf8'),
	);
	(void devDependencies, void peerDependencies, void optionalDependencies);
	await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
	await run(
		'npm',
		[
			'install',
			'--audit=false',
			'--fund=false',
			'--bin-links=false',
			'--install-strategy=shallow',
			'--ignore-scripts=true',
			'--package-lock=false',
			'--loglevel=error',
		],
		{ cwd: packageDir },
	);
	const nodesManifestPath = path.join(nodesDir, 'package.json');
	const nodesManifest = existsSync(nodesManifestPath)
		? JSON.parse(await readFile(nodesManifestPath, 'utf8'))
		: { name: 'installed-nodes', private: true, dependencies: {} };
	nodesManifest.dependencies = { ...nodesManifest.dependencies, [PACKAGE_NAME]: manifest.version };
	await writeFile(nodesManifestPath, JSON.stringify(nodesManifest, null, 2));
}

export interface N8nOptions {
	/** Folder holding `.n8n/` (database, encryption key, installed nodes). */
	userFolder: string;
	/**
	 * Which n8n process: `start` (the main process: editor, REST API), or in queue mode `worker`
	 * (runs executions from the queue; its port is the health check's) or `webhook` (production webhooks).
	 */
	command?: 'start' | 'worker' | 'webhook';
	/** More arguments for the command (e.g. `--concurrency=5` for a worker). */
	args?: string[];
	port?: number;
	env?: Record<string, string>;
	/** Where n8n's console output goes (default: kept in memory, shown when start-up fails). */
	log?: Log;
}

/** One running n8n process. */
export class N8nInstance {
	readonly userFolder: string;
	readonly port: number;
	readonly baseUrl: string;
	process?: ChildProcess;
	output = '';
	private cookie = '';
	private readonly browserId = randomBytes(8).toString('hex');
	private readonly options: N8nOptions;

	private readonly brokerPort: number;

	private constructor(options: N8nOptions, port: number, brokerPort: number) {
		this.brokerPort = brokerPort;
		this.options = options;
		this.userFolder = options.userFolder;
		this.port = port;
		this.baseUrl = `http://127.0.0.1:${port}`;
	}

	static async start(options: N8nOptions): Promise<N8nInstance> {
		const instance = new N8nInstance(options, options.port ?? (await freePort()), await freePort());
		await instance.boot();
		return instance;
	}

	/** The environment a self-hoster would set, minus n8n's calls home (unreachable here). */
	private environment(): NodeJS.ProcessEnv {
		const env: NodeJS.ProcessEnv = { ...process.env };
		delete env.WHATSAPP_COMPLIANCE_DB; // the store lives in n8n's user folder, as for users
		delete env.NODE_OPTIONS;
		// Jest sets NODE_ENV=test, under which n8n refuses to load nodes ("Not available in tests").
		delete env.NODE_ENV;
		return {
			...env,
			N8N_USER_FOLDER: this.userFolder,
			N8N_PORT: String(this.port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			N8N_WEBHOOK_URL: `${this.baseUrl}/`,
			N8N_EDITOR_BASE_URL: `${this.baseUrl}/`,
			N8N_SECURE_COOKIE: 'false',
			N8N_ENCRYPTION_KEY: createHash('sha256').update(this.userFolder).digest('hex'),
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_HIRING_BANNER_ENABLED: 'false',
			N8N_AI_ENABLED: 'false',
			N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'false',
			N8N_RUNNERS_ENABLED: 'true',
			// The task runners' broker port (5679 by default) would clash between instances.
			N8N_RUNNERS_BROKER_PORT: String(this.brokerPort),
			N8N_LOG_LEVEL: process.env.N8N_E2E_LOG_LEVEL ?? 'info',
			N8N_LOG_OUTPUT: 'console',
			N8N_PAYLOAD_SIZE_MAX: '64',
			EXECUTIONS_DATA_PRUNE: 'false',
			// A worker answers health checks on its own port (it serves nothing else).
			...(this.options.command === 'worker'
				? {
						QUEUE_HEALTH_CHECK_ACTIVE: 'true',
						QUEUE_HEALTH_CHECK_PORT: String(this.port),
						N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
					}
				: {}),
			...this.options.env,
		};
	}

	private async boot() {
		this.output = '';
		const child = spawn(process.execPath, [n8nBin(), this.options.command ?? 'start', ...(this.options.args ?? [])], {
			cwd: this.userFolder,
			env: this.environment(),
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		this.process = child;
		// A test runner that exits (or is killed by a timeout) must not leave n8n running.
		const reap = () => child.kill('SIGKILL');
		process.once('exit', reap);
		child.once('exit', () => process.removeListener('exit', reap));
		const onData = (chunk: Buffer) => {
			const text = chunk.toString();
			this.output += text;
			if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
			this.options.log?.(text.trimEnd());
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', onData);
		const deadline = Date.now() + 180_000;
		while (Date.now() < deadline) {
			if (child.exitCode !== null || child.signalCode !== null)
				throw new Error(
					`n8n exited during start-up (${child.exitCode ?? child.signalCode}):\n${this.output.slice(-6000)}`,
				);
			try {
				const res = await fetch(`${this.baseUrl}/healthz/readiness`);
				if (res.ok) return;
			} catch {
				// not listening yet
			}
			await sleep(250);
		}
		throw new Error(`n8n did not become ready within 180 s:\n${this.output.slice(-6000)}`);
	}

	/** Stops n8n as a service manager would (SIGTERM, then SIGKILL after 20 s). */
	async stop(): Promise<void> {
		const child = this.process;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
	}

	/** Kills n8n with SIGKILL: no shutdown hooks, executions cut off mid-flight. */
	async kill(): Promise<void> {
		const child = this.process;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGKILL');
		await exited;
	}

	/** Stops and starts n8n again on the same user folder, optionally with more environment. */
	async restart(extraEnv: Record<string, string> = {}): Promise<void> {
		await this.stop();
		this.options.env = { ...this.options.env, ...extraEnv };
		await this.boot();
		if (this.cookie) await this.login();
	}

	// ---- n8n's REST API, as the editor uses it ----

	async request<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
		const res = await fetch(`${this.baseUrl}/rest${route}`, {
			method,
			headers: {
				'content-type': 'application/json',
				'browser-id': this.browserId,
				...(this.cookie ? { cookie: this.cookie } : {}),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		if (setCookie) this.cookie = setCookie.split(';')[0];
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} /rest${route} → ${res.status}: ${text.slice(0, 2000)}`);
		const parsed = text ? JSON.parse(text) : {};
		return (parsed && typeof parsed === 'object' && 'data' in parsed ? parsed.data : parsed) as T;
	}

	/** Creates the owner account on a fresh instance (or logs in when it exists). */
	async setupOwner(): Promise<void> {
		const settings = await this.request<{ userManagement?: { showSetupOnFirstLoad?: boolean } }>('GET', '/settings');
		if (settings.userManagement?.showSetupOnFirstLoad) await this.request('POST', '/owner/setup', OWNER);
		else await this.login();
	}

	async login(): Promise<void> {
		await this.request('POST', '/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
	}

	async createCredential(name: string, type: string, data: Record<string, unknown>): Promise<{ id: string }> {
		return await this.request('POST', '/credentials', { name, type, data });
	}

	async createWorkflow(workflow: Record<string, unknown>): Promise<{ id: string; versionId: string }> {
		const { id, active, pinData, meta, tags, versionId, ...rest } = workflow;
		(void id, void active, void pinData, void meta, void tags, void versionId);
		return await this.request('POST', '/workflows', rest);
	}

	/** Publishes (activates) a workflow: its triggers and production webhooks go live. */
	async activate(workflowId: string): Promise<void> {
		const workflow = await this.request<{ versionId: string }>('GET', `/workflows/${workflowId}`);
		await this.request('POST', `/workflows/${workflowId}/activate`, { versionId: workflow.versionId });
	}

	/** What n8n serves the editor as `/types/<kind>.json` (the node panel's and credential lists). */
	private async typesJson<T>(kind: 'nodes' | 'credentials'): Promise<T[]> {
		const res = await fetch(`${this.baseUrl}/types/${kind}.json`, {
			headers: { cookie: this.cookie, 'browser-id': this.browserId },
		});
		if (!res.ok) throw new Error(`GET /types/${kind}.json → ${res.status}`);
		return (await res.json()) as T[];
	}

	/** Node types n8n loaded, one entry per name and version. */
	async nodeTypes(): Promise<Array<{ name: string; version: number | number[] }>> {
		return await this.typesJson('nodes');
	}

	async nodeTypeNames(): Promise<string[]> {
		return [...new Set((await this.nodeTypes()).map((t) => t.name))];
	}

	async credentialTypeNames(): Promise<string[]> {
		return (await this.typesJson<{ name: string }>('credentials')).map((t) => t.name);
	}

	/**
	 * Waits until n8n serves a production webhook path: activation registers webhooks a moment after
	 * the REST call returns. A GET to a POST-only webhook answers "did you mean POST" once registered.
	 */
	async waitForWebhook(webhookPath: string): Promise<void> {
		const deadline = Date.now() + 30_000;
		while (Date.now() < deadline) {
			const res = await fetch(`${this.baseUrl}/webhook/${webhookPath}`, { method: 'GET' });
			const text = await res.text();
			if (res.status !== 404 || !/is not registered\.?"/.test(text)) return;
			await sleep(100);
		}
		throw new Error(`n8n did not register the webhook ${webhookPath} within 30 s`);
	}

	/**
	 * POSTs JSON to a production webhook path and returns n8n's answer. Plain node:http without a
	 * timeout: a campaign workflow answers when its last message is out, which can take minutes.
	 */
	async postWebhook(webhookPath: string, body: unknown): Promise<{ status: number; body: unknown }> {
		const payload = Buffer.from(JSON.stringify(body));
		return await new Promise((resolve, reject) => {
			const req = httpRequest(
				`${this.baseUrl}/webhook/${webhookPath}`,
				{ method: 'POST', headers: { 'content-type': 'application/json', 'content-length': payload.length } },
				(res) => {
					const chunks: Buffer[] = [];
					res.on('data', (chunk: Buffer) => chunks.push(chunk));
					res.on('error', reject);
					res.on('end', () => {
						const text = Buffer.concat(chunks).toString('utf8');
						let parsed: unknown = text;
						try {
							parsed = JSON.parse(text);
						} catch {
							// not JSON
						}
						resolve({ status: res.statusCode ?? 0, body: parsed });
					});
				},
			);
			req.on('error', reject);
			req.end(payload);
		});
	}

	/** Executions of a workflow, newest first. */
	async executions(workflowId: string): Promise<Array<{ id: string; status: string; finished: boolean }>> {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const result = await this.request<{ results: Array<{ id: string; status: string; finished: boolean }> }>(
			'GET',
			`/executions?filter=${filter}&limit=50`,
		);
		return result.results;
	}

	/** Each node's output items of one execution: `{ node: [outputIndex][items] }` (first run of each node). */
	async executionOutputs(
		executionId: string,
	): Promise<Record<string, Array<Array<{ json: Record<string, unknown> }>>>> {
		const execution = await this.request<{ data: string; status: string }>('GET', `/executions/${executionId}`);
		// n8n stores run data with `flatted` (it may be circular); its REST API hands it over that way.
		const { parse } = require('flatted') as { parse: (text: string) => unknown };
		const data = parse(execution.data) as {
			resultData: {
				runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }> | null> } }>>;
			};
		};
		const outputs: Record<string, Array<Array<{ json: Record<string, unknown> }>>> = {};
		for (const [node, runs] of Object.entries(data.resultData.runData)) {
			outputs[node] = [];
			for (const taskData of runs) {
				(taskData.data?.main ?? []).forEach((items, index) => {
					outputs[node][index] = [...(outputs[node][index] ?? []), ...(items ?? [])];
				});
			}
		}
		return outputs;
	}
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
