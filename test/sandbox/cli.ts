/**
 * `npm run sandbox -- [flags]`: the local Cloud API sandbox on the command line.
 * Point the credential's Base URL at the printed address; use the printed token and IDs.
 */
import { parseArgs } from 'node:util';

import { CloudApiSandbox } from './server.ts';

const { values } = parseArgs({
	options: {
		port: { type: 'string', default: '8089' },
		host: { type: 'string', default: '127.0.0.1' },
		token: { type: 'string', default: 'sandbox-token' },
		throughput: { type: 'string', default: '80' },
		latency: { type: 'string', default: '0' },
		jitter: { type: 'string', default: '0' },
		'pair-burst': { type: 'string', default: '45' },
		'pair-refill-ms': { type: 'string', default: '6000' },
		'webhook-url': { type: 'string' },
		'app-secret': { type: 'string', default: 'sandbox-app-secret' },
		'duplicate-rate': { type: 'string', default: '0' },
		'out-of-order': { type: 'boolean', default: false },
		'batch-size': { type: 'string', default: '100' },
		help: { type: 'boolean', short: 'h', default: false },
	},
});

if (values.help) {
	console.log(`Local WhatsApp Cloud API sandbox

  --port N              port to listen on (default 8089; 0 = any free port)
  --host H              address to bind (default 127.0.0.1)
  --token T             access token it accepts (default sandbox-token)
  --throughput N        messages/s per phone number before 130429 (default 80, up to 1000)
  --latency MS          added to every answer (default 0)
  --jitter MS           random extra latency up to MS (default 0)
  --pair-burst N        messages to one recipient before 131056 (default 45)
  --pair-refill-ms MS   one more message to that recipient every MS (default 6000)
  --webhook-url URL     where to POST signed status webhooks (e.g. the Delivery Monitor's URL)
  --app-secret S        signs X-Hub-Signature-256 (default sandbox-app-secret)
  --duplicate-rate R    share 0–1 of webhook POSTs sent twice
  --out-of-order        deliver statuses within a batch in reverse order
  --batch-size N        status updates per webhook POST (default 100)`);
	process.exit(0);
}

async function main() {
	const webhookUrl = values['webhook-url'];
	const sandbox = await CloudApiSandbox.start({
		host: values.host,
		port: Number(values.port),
		accessToken: values.token,
		latencyMs: Number(values.latency),
		jitterMs: Number(values.jitter),
		pairRate: { burst: Number(values['pair-burst']), refillMs: Number(values['pair-refill-ms']) },
		webhook: webhookUrl
			? {
					url: webhookUrl,
					appSecret: values['app-secret']!,
					duplicateRate: Number(values['duplicate-rate']),
					outOfOrder: values['out-of-order'],
					batchSize: Number(values['batch-size']),
					// Meta keeps retrying a webhook that was not answered 2xx.
					attempts: 10,
				}
			: undefined,
	});
	sandbox.setThroughput(Number(values.throughput));

	const credentials = sandbox.credentials({ appSecret: values['app-secret']! });
	console.log(`WhatsApp Cloud API sandbox listening on ${sandbox.baseUrl}`);
	console.log('Credential "WhatsApp Cloud API" for n8n:');
	for (const [key, value] of Object.entries(credentials)) console.log(`  ${key.padEnd(18)} ${value}`);
	console.log(`Templates: ${sandbox.templates.map((t) => `${t.name} (${t.language}, ${t.status})`).join(', ')}`);
	if (webhookUrl) console.log(`Status webhooks → ${webhookUrl}`);
	console.log('Ctrl-C to stop.');

	const stop = async () => {
		const { accepted, errorsByCode, webhookPosts } = sandbox.counters;
		console.log(
			`\nAccepted ${accepted} messages; errors ${JSON.stringify(errorsByCode)}; ${webhookPosts} webhook posts.`,
		);
		await sandbox.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

void main();
