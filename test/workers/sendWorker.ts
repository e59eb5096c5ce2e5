/**
 * Runs the Template Send workflow in its own process (the one a test kills, or another n8n worker).
 *   node -r ./test/helpers/register-ts.js test/workers/sendWorker.ts <options JSON>
 * Prints one JSON line with the outputs' sizes when it finishes.
 */
import { closeAllStores } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';

const options = JSON.parse(process.argv[2]) as {
	numbers: string[];
	credentials: Record<string, Record<string, unknown>>;
	parameters: Record<string, unknown>;
};

async function main() {
	const result = await runWorkflow('template-send.json', {
		items: options.numbers.map((e164) => ({ whatsapp: { e164 } })),
		credentials: options.credentials as never,
		parameters: { 'Template Send': options.parameters as never },
	});
	if (result.status !== 'success') throw new Error(result.error?.message);
	const [sent, failed, notSent] = result.outputs('Template Send');
	console.log(JSON.stringify({ sent: sent.length, failed: failed.length, notSent: notSent.length }));
	await closeAllStores();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
