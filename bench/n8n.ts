/**
 * The benchmarks that run inside a real n8n 2.41.1 (the end-to-end set-up: the package installed from
 * its tarball, workflows created through n8n's API and driven through production webhooks):
 * Template Send against n8n's built-in WhatsApp node and the HTTP Request node on the same sandbox,
 * the Delivery Monitor under load, pause propagation and n8n's memory.
 *
 * The built-in node has Meta's URL built in, so the sandbox serves HTTPS with a certificate for
 * graph.facebook.com and n8n's TLS connections to that host are routed to it (bench/graphRoute.js,
 * the equivalent of a hosts-file entry). All three senders go through that same route.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { CampaignEnvironment, loadWorkflow } from '../test/e2e/environment.ts';
import { sleep } from '../test/e2e/n8nInstance.ts';
import { profileBreakdown } from './cpuProfile.ts';
import { sustainedRate } from './sustained.ts';
import { postStatusLoad } from './statusLoad.ts';
import { postSingleStatuses } from './singleStatusLoad.ts';
import { readCounters } from '../nodes/core/campaignCounters';
import { SqliteStore } from '../nodes/store/SqliteStore';

type Record_ = (key: string, value: number | string, unit?: string) => void;

const ROOT = path.resolve(__dirname, '..');
const PHONE_NUMBER_ID = '106540352242922';

/** A throwaway CA-less certificate for graph.facebook.com (trusted by n8n through NODE_EXTRA_CA_CERTS). */
function graphCertificate() {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'wa-bench-tls-'));
	const key = path.join(dir, 'key.pem');
	const cert = path.join(dir, 'cert.pem');
	execFileSync(
		'openssl',
		[
			'req',
			'-x509',
			'-newkey',
			'rsa:2048',
			'-nodes',
			'-keyout',
			key,
			'-out',
			cert,
			'-days',
			'2',
			'-subj',
			'/CN=graph.facebook.com',
			'-addext',
			'subjectAltName=DNS:graph.facebook.com',
		],
		{ stdio: 'ignore' },
	);
	return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), certPath: cert };
}

/** Samples a process's resident memory (Linux /proc) until stopped; returns the peak in MB. */
function rssSampler(pid: number) {
	let peakKb = 0;
	const sample = () => {
		try {
			const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
			if (match) peakKb = Math.max(peakKb, Number(match[1]));
		} catch {
			// the process is gone
		}
	};
	const timer = setInterval(sample, 200);
	sample();
	return () => {
		clearInterval(timer);
		sample();
		return peakKb / 1024;
	};
}

export async function benchInRealN8n(quick: boolean, record: Record_, notes: string[]) {
	console.log('\nReal n8n 2.41.1 (installing it first if needed)…');
	const tls = graphCertificate();
	const env = await CampaignEnvironment.start({
		log: (line) => console.log(`  ${line}`),
		sandbox: { tls: { key: tls.key, cert: tls.cert }, recordBodies: false },
		n8nEnv: (sandbox) => ({
			NODE_OPTIONS: `--require ${path.join(ROOT, 'bench', 'graphRoute.js')}`,
			GRAPH_API_ROUTE: `127.0.0.1:${sandbox.port}`,
			NODE_EXTRA_CA_CERTS: tls.certPath,
			N8N_LOG_LEVEL: 'warn',
			// Keep what the benchmark stores to what it reads back.
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none',
		}),
	});
	try {
		await env.provision(
			{
				ours: 'bench/workflows/send-ours.json',
				http: 'bench/workflows/send-httprequest.json',
				monitor: 'test/e2e/workflows/delivery-monitor.json',
				control: 'examples/campaign-control-slack.json',
			},
			{ baseUrl: 'https://graph.facebook.com' },
		);
		const builtinCredential = await env.n8n.createCredential('WhatsApp (built-in)', 'whatsAppApi', {
			accessToken: env.sandbox.accessToken,
			businessAccountId: env.sandbox.businessAccountId,
		});
		await env.addWorkflow(
			'builtin',
			JSON.parse(
				JSON.stringify(loadWorkflow('bench/workflows/send-builtin.json', env.credentialId)).replaceAll(
					'REPLACE_WITH_BUILTIN_CREDENTIAL_ID',
					builtinCredential.id,
				),
			),
		);

		let contactBase = 0;
		const contacts = (count: number) => {
			contactBase += count;
			return Array.from({ length: count }, (_, i) => ({ to: `+3367${String(contactBase + i).padStart(7, '0')}` }));
		};

		/** One send run: POST the contacts, wait for the execution to end, read the sandbox's counters. */
		const sendRun = async (workflow: string, count: number, extra: Record<string, unknown> = {}) => {
			try {
				return await sendRunOnce(workflow, count, extra);
			} catch (error) {
				// A run n8n could not finish is a finding, not a reason to lose the other figures.
				const message = `${workflow} (${count} messages): ${(error as Error).message.slice(0, 300)}`;
				console.log(`  FAILED ${message}`);
				notes.push(`A run did not complete: ${message}`);
				return { accepted: NaN, throttled: NaN, seconds: NaN, mps: NaN, sustained: NaN, campaignId: '' };
			}
		};
		/** Waits out n8n's "Database is not ready!" spells (its own DB check failing after heavy runs). */
		const whenN8nReady = async () => {
			for (let i = 0; i < 60; i++) {
				const res = await fetch(`${env.n8n.baseUrl}/rest/settings`);
				if (res.status !== 503) return;
				await sleep(1_000);
			}
		};

		const sendRunOnce = async (workflow: string, count: number, extra: Record<string, unknown> = {}) => {
			await whenN8nReady();
			env.sandbox.resetLog();
			env.sandbox.resetLimits();
			const campaignId = `bench-${workflow}-${Date.now()}`;
			const started = performance.now();
			const response = await env.n8n.postWebhook(env.webhookPaths[workflow], {
				campaignId,
				contacts: contacts(count),
				...extra,
			});
			const seconds = (performance.now() - started) / 1000;
			// The sandbox counted what was sent either way; an execution n8n could not finish is noted.
			if (response.status !== 200)
				notes.push(
					`The ${workflow} run of ${count.toLocaleString('en')} messages ended with n8n answering ${response.status} (${JSON.stringify(response.body).slice(0, 120)}); its figures are what the sandbox received until then.`,
				);
			const { accepted, errorsByCode } = env.sandbox.counters;
			const sustained = sustainedRate(env.sandbox.acceptedSends().map((r) => r.receivedAt));
			return {
				accepted,
				throttled: errorsByCode['130429'] ?? 0,
				seconds,
				mps: accepted / seconds,
				sustained,
				campaignId,
			};
		};

		// The senders are compared with the sandbox's status webhooks off: in n8n 2.41 each webhook
		// request to the Delivery Monitor costs the process an isolate (see the notes), which would
		// measure n8n's webhook handling rather than the senders. The runs "with statuses" turn them on.
		const statusWebhooks = env.sandbox.webhook;
		const statuses = (on: boolean) => (env.sandbox.webhook = on ? statusWebhooks : undefined);
		statuses(false);

		// ---- 80/s, 150 ms latency: ours, the built-in node, HTTP Request with batching ----
		const messages = quick ? 2_000 : 10_000;
		env.sandbox.latencyMs = 150;
		env.sandbox.setThroughput(80);
		console.log(`\nIn real n8n: ${messages.toLocaleString('en')} template sends, sandbox at 80/s with 150 ms latency`);
		const memory = rssSampler(env.n8n.process!.pid!);
		const ours = await sendRun('ours', messages, { rate: 80 });
		const peakMb = memory();
		record('send.limit80.ours_mps', ours.sustained, ' accepted msg/s, sustained');
		record('send.limit80.ours_end_to_end_mps', ours.mps, ' accepted msg/s, webhook POST to answer');
		record('send.limit80.ours_130429', ours.throttled);
		record(quick ? 'memory.send2k_peak_rss_mb' : 'memory.send10k_peak_rss_mb', peakMb, ' MB (n8n main process)');

		const builtin = await sendRun('builtin', messages);
		record('send.limit80.builtin_mps', builtin.sustained, ' accepted msg/s, sustained');
		record('send.limit80.builtin_end_to_end_mps', builtin.mps, ' accepted msg/s, webhook POST to answer');
		record('send.limit80.builtin_failed_share', (messages - builtin.accepted) / messages);
		record('send.limit80.builtin_130429', builtin.throttled);
		// The built-in node fires every request at once; n8n can come out of that with its database
		// connection marked down ("Database is not ready!" on every request). Start the rest afresh.
		await env.restartN8n();

		// The tightest HTTP Request batching that draws no 130429, tried on a sample, fastest first.
		const settings = [
			[80, 1000],
			[80, 1050],
			[40, 525],
			[20, 275],
			[10, 140],
			[8, 110],
			[4, 60],
			[1, 15],
		];
		let chosen: number[] | undefined;
		for (const [batchSize, batchInterval] of settings) {
			const trial = await sendRun('http', quick ? 400 : 800, { batchSize, batchInterval });
			console.log(
				`  HTTP Request trial: batch ${batchSize} every ${batchInterval} ms → ${trial.throttled} × 130429, ${trial.sustained.toFixed(1)} msg/s`,
			);
			if (trial.throttled === 0) {
				chosen = [batchSize, batchInterval];
				break;
			}
		}
		if (chosen) {
			const http = await sendRun('http', messages, { batchSize: chosen[0], batchInterval: chosen[1] });
			record('send.limit80.httprequest_mps', http.sustained, ' accepted msg/s, sustained');
			record('send.limit80.httprequest_end_to_end_mps', http.mps, ' accepted msg/s, webhook POST to answer');
			record('send.limit80.httprequest_130429', http.throttled);
			record('send.limit80.httprequest_batching', `${chosen[0]} per ${chosen[1]} ms`);
		}

		// ---- 1,000/s, 20 ms latency: ours ----
		const fast = quick ? 5_000 : 20_000;
		env.sandbox.latencyMs = 20;
		env.sandbox.setThroughput(1000);
		console.log(`\nIn real n8n: ${fast.toLocaleString('en')} template sends, sandbox at 1,000/s with 20 ms latency`);
		const ours1000 = await sendRun('ours', fast, { rate: 1000 });
		record('send.limit1000.ours_mps', ours1000.sustained, ' accepted msg/s, sustained');
		record('send.limit1000.ours_end_to_end_mps', ours1000.mps, ' accepted msg/s, webhook POST to answer');
		record('send.limit1000.ours_130429', ours1000.throttled);

		// ---- pause: from Campaign Control's answer to the last request the sandbox sees ----
		env.sandbox.latencyMs = 150;
		env.sandbox.setThroughput(80);
		env.sandbox.resetLog();
		const pauseCampaign = `bench-pause-${Date.now()}`;
		await whenN8nReady();
		let answered: { status: number; body: unknown } | undefined;
		const run = env.n8n
			.postWebhook(env.webhookPaths.ours, { campaignId: pauseCampaign, contacts: contacts(1_000), rate: 80 })
			.then((response) => (answered = response));
		while (env.sandbox.counters.accepted < 200 && !answered) await sleep(20);
		if (answered) {
			notes.push(`The pause run ended before it could be paused: ${JSON.stringify(answered).slice(0, 300)}`);
			record('pause.propagation_ms', NaN);
		} else {
			await env.campaignControl(`pause ${pauseCampaign}`);
			const pausedAt = Date.now();
			await run;
			const lastRequest = Math.max(...env.sandbox.requests.filter((r) => r.to).map((r) => r.receivedAt));
			record('pause.propagation_ms', Math.max(0, lastRequest - pausedAt), ' ms');
		}

		// ---- Delivery Monitor at 1,000 status updates/s: n8n's default engine, lazy isolates, legacy engine ----
		const seconds = quick ? 10 : 60;
		const route = `--require ${path.join(ROOT, 'bench', 'graphRoute.js')}`;
		const statusLoadRun = async (prefix: string, label: string, engine: Record<string, string>) => {
			await env.restartN8n({ NODE_OPTIONS: route, ...engine });
			console.log(`\nIn real n8n${label}: Delivery Monitor at 1,000 status updates/s for ${seconds} s (50 per POST)`);
			const campaign = `bench-webhook-${Date.now()}`;
			await whenN8nReady();
			const load = await postStatusLoad(
				`${env.n8n.baseUrl}/webhook/${'whatsapp-delivery-monitor/whatsapp'}`,
				statusWebhooks!.appSecret,
				seconds,
				campaign,
				PHONE_NUMBER_ID,
			);
			const { report } = (await env.campaignControl(`report ${campaign}`)) as { report: { delivered: number } };
			record(`${prefix}p50_ms`, load.percentile(50), ' ms');
			record(`${prefix}p99_ms`, load.percentile(99), ' ms');
			record(`${prefix}lost`, load.sent - report.delivered);
			record(`${prefix}refused_posts`, load.failures);
		};
		const defaults = { N8N_EXPRESSION_ENGINE: 'vm', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'false' };
		await statusLoadRun('webhook.', '', defaults);
		await statusLoadRun('webhook.lazy_acquire_', ' with N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true', {
			...defaults,
			N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true',
		});
		await statusLoadRun('webhook.legacy_engine_', ' with N8N_EXPRESSION_ENGINE=legacy', {
			...defaults,
			N8N_EXPRESSION_ENGINE: 'legacy',
		});
		await env.restartN8n({ NODE_OPTIONS: route, ...defaults });

		// ---- one status per POST, as Meta posts them: the Own Port trigger beside n8n's webhook layer ----
		const singleSeconds = quick ? 20 : 60;
		const ownPortUrl = await env.addOwnPortMonitor();
		const store = SqliteStore.open(path.join(env.n8n.userFolder, '.n8n', 'whatsapp-compliance.sqlite'));
		const singleStatusRun = async (prefix: string, url: string, label: string) => {
			await whenN8nReady();
			console.log(`\nIn real n8n, ${label}: 240 single-status POSTs/s for ${singleSeconds} s`);
			const campaign = `bench-single-${Date.now()}`;
			const load = await postSingleStatuses({
				url,
				appSecret: statusWebhooks!.appSecret,
				campaign,
				perSecond: 240,
				seconds: singleSeconds,
				pid: env.n8n.process!.pid!,
				phoneNumberId: PHONE_NUMBER_ID,
			});
			const counters = readCounters(await store.campaigns.counters(campaign));
			const counted = counters.total('statusSent') + counters.total('delivered') + counters.total('read');
			const fivexx = Object.entries(load.answers)
				.filter(([status]) => status.startsWith('5'))
				.reduce((sum, [, n]) => sum + n, 0);
			record(`${prefix}p50_ms`, load.percentile(50), ' ms');
			record(`${prefix}p99_ms`, load.percentile(99), ' ms');
			record(`${prefix}lost`, load.posted - counted, ` of ${load.posted} statuses`);
			record(`${prefix}5xx`, fivexx);
			record(`${prefix}no_answer`, load.answers.none ?? 0);
			record(`${prefix}cpu_percent`, load.cpuPercent, ' % of one core (n8n process)');
		};
		await singleStatusRun('webhook.single.own_port_', ownPortUrl, 'the Delivery Monitor (Own Port) trigger');
		await singleStatusRun(
			'webhook.single.n8n_webhook_',
			`${env.n8n.baseUrl}/webhook/whatsapp-delivery-monitor/whatsapp`,
			'the Delivery Monitor through n8n’s webhook layer',
		);
		await store.close();
		await env.restartN8n({ NODE_OPTIONS: route, ...defaults });

		notes.push(
			`In real n8n (keys without \`harness\`): n8n 2.41.1 in its regular mode with the built-in SQLite database, this package installed from its tarball; each run POSTs the contacts to a workflow's production webhook (Webhook → Split Out → the sender) and is timed until the execution ends. Every sender reaches the sandbox over HTTPS through the same route (bench/graphRoute.js). The built-in node runs with "On Error: Continue" and its default options (no batching), as an operator would start; the HTTP Request node's batching is chosen by trying ${settings.map(([b, i]) => `${b}/${i} ms`).join(', ')} on ${quick ? 400 : 800} messages, fastest first, and keeping the first with no 130429.`,
			"`webhook.*`: signed POSTs of 50 `delivered` statuses, 20 per second, to the Delivery Monitor's production URL in n8n; latency from request to acknowledgement; lost = updates posted minus `delivered` in Campaign Control's report. `webhook.lazy_acquire_*`: the same after restarting n8n with `N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true` (n8n then builds an isolate only when an expression needs one); `webhook.legacy_engine_*`: with `N8N_EXPRESSION_ENGINE=legacy`.",
			"`send.limit80.ours*`, `builtin*`, `httprequest*`, `send.limit1000.*`, `profile.*` are measured with the sandbox's status webhooks off, so that the senders are compared and not n8n's webhook handling. `send.limit80.ours_with_statuses_*`: the 80/s run with them on (sent, delivered and read for each message, batched 100 per POST, into the Delivery Monitor of the same n8n), as a single-instance self-hoster runs it; `*_legacy_engine_*`: the same after restarting n8n with `N8N_EXPRESSION_ENGINE=legacy`. n8n 2.41 evaluates expressions in isolated-vm by default and, for every webhook request to a trigger other than its own Webhook node, creates and disposes an isolate on the main thread (about 100 ms of CPU per request in a CPU profile of a run with statuses on: `IsolatedVmBridge`, `initialize`, `loadVendorLibraries`, `dispose`). Each status POST to the Delivery Monitor therefore stalls the event loop that Template Send paces on; the stalls bunch requests and draw 130429s (retried). This run shows the difference that engine makes.",
			`\`webhook.single.*\`: Meta's real pattern, one status per signed POST, 240 POSTs a second for ${singleSeconds} s (80 messages a second, each with sent, delivered and read; open loop, a request unanswered after 60 s counts as no answer), into the same n8n: \`own_port_*\` to the Delivery Monitor (Own Port) trigger's own HTTP server, \`n8n_webhook_*\` to the Delivery Monitor's production URL through n8n's webhook layer, one after the other. Lost = statuses posted minus statuses counted in the store (sent, delivered and read counters of the run's campaign). CPU: the n8n process (utime + stime from /proc) over the run, in % of one core. The load generator runs on the same 2-vCPU machine.`,
			"`pause.propagation_ms`: Campaign Control's pause (through its Slack-command workflow) answered at T; the last send request the sandbox received, minus T (0 when none arrived after T).",
		);

		if (quick) return; // the profile and the runs with status webhooks are the full run's

		// ---- where n8n's CPU goes per message at 1,000/s (V8 CPU profile of the n8n process) ----
		const profileDir = mkdtempSync(path.join(os.tmpdir(), 'wa-bench-prof-'));
		await env.restartN8n({
			NODE_OPTIONS: `--require ${path.join(ROOT, 'bench', 'graphRoute.js')} --cpu-prof --cpu-prof-dir=${profileDir}`,
		});
		const pid = env.n8n.process!.pid!;
		env.sandbox.latencyMs = 20;
		env.sandbox.setThroughput(1000);
		const profiled = quick ? 3_000 : 10_000;
		const profiledRun = await sendRun('ours', profiled, { rate: 1000 });
		await env.n8n.stop(); // n8n exits; V8 writes the profile
		const file = readdirSync(profileDir).find((f) => f.includes(`.${pid}.`));
		if (file) {
			const micros = profileBreakdown(path.join(profileDir, file));
			console.log(
				`\nCPU profile of n8n: ${profiled.toLocaleString('en')} sends at 1,000/s (${profiledRun.mps.toFixed(0)} msg/s), µs of CPU per message:`,
			);
			for (const [category, us] of Object.entries(micros).sort((a, b) => b[1] - a[1])) {
				const key = `profile.send1000.${category.split(' ')[0] === 'our' ? category.split(' ')[1].replace(/\W/g, '') : category.split(' ')[0].replace(/\W/g, '')}_us_per_msg`;
				record(key, us / profiled, ` µs/msg  ${category}`);
			}
		} else console.log(`  (no CPU profile written by n8n pid ${pid} in ${profileDir})`);

		// ---- 80/s with Meta's status webhooks flowing into the Delivery Monitor of the same n8n ----
		await env.restartN8n({ NODE_OPTIONS: `--require ${path.join(ROOT, 'bench', 'graphRoute.js')}` });
		env.sandbox.latencyMs = 150;
		env.sandbox.setThroughput(80);
		statuses(true);
		console.log(
			`\nIn real n8n with status webhooks to the Delivery Monitor: ${messages.toLocaleString('en')} sends at 80/s`,
		);
		const withStatuses = await sendRun('ours', messages, { rate: 80 });
		record('send.limit80.ours_with_statuses_mps', withStatuses.sustained, ' accepted msg/s, sustained');
		record('send.limit80.ours_with_statuses_130429', withStatuses.throttled);

		// ---- the same with n8n's legacy expression engine (no isolate per webhook request) ----
		await env.restartN8n({
			NODE_OPTIONS: `--require ${path.join(ROOT, 'bench', 'graphRoute.js')}`,
			N8N_EXPRESSION_ENGINE: 'legacy',
		});
		console.log(`\nIn real n8n with N8N_EXPRESSION_ENGINE=legacy: ${messages.toLocaleString('en')} sends at 80/s`);
		const legacy = await sendRun('ours', messages, { rate: 80 });
		record('send.limit80.ours_with_statuses_legacy_engine_mps', legacy.sustained, ' accepted msg/s, sustained');
		record('send.limit80.ours_with_statuses_legacy_engine_130429', legacy.throttled);
	} catch (error) {
		console.error(`n8n's last output:\n${env.n8n.output.slice(-3000)}`);
		throw error;
	} finally {
		await env.close();
	}
}
