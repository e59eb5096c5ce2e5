/**
 * One execution of the Frequency Cap workflow in its own process, as a second n8n worker would run it.
 *   node -r ./test/helpers/register-ts.js test/workers/capRaceWorker.ts <options JSON>
 * Prints the indices of the contacts it let through.
 */
import { closeAllStores } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';

const options = JSON.parse(process.argv[2]) as {
	startAt: number;
	contacts: number;
	store: Record<string, unknown>;
	credentials: Record<string, Record<string, unknown>>;
};

async function main() {
	const items = Array.from({ length: options.contacts }, (_, i) => ({
		i,
		whatsapp: { e164: `+3365${String(2_000_000 + i)}` },
	}));
	const wait = options.startAt - Date.now();
	if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
	const result = await runWorkflow('frequency-cap.json', {
		items,
		credentials: options.credentials as never,
		parameters: {
			'Frequency Cap': {
				...options.store,
				contactRules: { rule: [{ category: 'marketing', maxCount: 1, windowHours: 24, minGapHours: 0 }] },
			},
		},
	});
	if (result.status !== 'success') throw new Error(result.error?.message);
	const [sendNow] = result.outputs('Frequency Cap');
	console.log(JSON.stringify({ passed: sendNow.map((item) => item.json.i) }));
	await closeAllStores();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
