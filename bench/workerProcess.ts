/**
 * One "worker" of the several-workers benchmark (bench/workers.ts): a process running Template Send
 * executions through n8n-core, as an n8n queue-mode worker runs the jobs it takes, on the Redis store
 * every worker shares. Reads its job from WORKER_SPEC, starts at `startAt`, prints one JSON line.
 */
import { closeAllStores } from '../nodes/store/openStore';
import { runWorkflow } from '../test/harness/WorkflowHarness';
import { sandboxCloudCredential } from './remoteSandbox.ts';

interface WorkerSpec {
	baseUrl: string;
	redis: { host: string; port: number; prefix: string; contactKeySecret: string };
	rate: number;
	startAt: number;
	executions: Array<{ campaignId: string; first: number; count: number }>;
}

async function main() {
	const spec = JSON.parse(process.env.WORKER_SPEC!) as WorkerSpec;
	const credentials = {
		whatsAppCloudApi: sandboxCloudCredential(spec.baseUrl),
		whatsAppComplianceRedisApi: { ...spec.redis, database: 0 },
	};
	await new Promise((resolve) => setTimeout(resolve, Math.max(0, spec.startAt - Date.now())));
	const runs = await Promise.all(
		spec.executions.map(async ({ campaignId, first, count }) => {
			const result = await runWorkflow('template-send.json', {
				items: Array.from({ length: count }, (_, i) => ({
					whatsapp: { e164: `+3366${String(first + i).padStart(7, '0')}` },
				})),
				credentials,
				parameters: {
					'Template Send': {
						store: 'redis',
						template: { __rl: true, mode: 'name', value: 'hello_world:en_US' },
						variables: { mappingMode: 'defineBelow', value: {}, matchingColumns: [], schema: [] },
						campaignId,
						options: { rate: spec.rate },
					},
				},
			});
			const [sent = [], failed = [], notSent = []] = result.status === 'success' ? result.outputs('Template Send') : [];
			const firstProblem = [...failed, ...notSent][0]?.json.whatsappSend;
			return {
				status: result.status,
				error: result.error?.message,
				sent: sent.length,
				failed: failed.length,
				notSent: notSent.length,
				firstProblem,
			};
		}),
	);
	await closeAllStores();
	process.stdout.write(`${JSON.stringify(runs)}\n`);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
