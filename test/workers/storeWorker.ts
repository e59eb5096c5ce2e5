/**
 * A separate process using the store, as another n8n worker would. Run by the concurrency tests:
 *   node -r ./test/helpers/register-ts.js test/workers/storeWorker.ts <mode> <store config JSON> <options JSON>
 * Prints one JSON line with its results (or, for `write`, one line per committed write).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { openStore, type StoreConfig } from '../../nodes/store/openStore';

const [mode, configJson, optionsJson] = process.argv.slice(2);
const config = JSON.parse(configJson) as StoreConfig;
const options = JSON.parse(optionsJson ?? '{}') as {
	barrier?: string;
	parties?: number;
	startAt?: number;
	contacts?: number;
	batch?: number;
	rate?: number;
	slots?: number;
	now?: number;
};

/**
 * Starts together with the other workers: each announces itself with a file in `barrier`, then waits
 * for all `parties` (a start time alone is not enough when a loaded machine starts processes slowly).
 */
async function waitForStart() {
	if (options.barrier) {
		writeFileSync(path.join(options.barrier, `ready-${process.pid}`), '');
		while (readdirSync(options.barrier).length < options.parties!)
			await new Promise((resolve) => setTimeout(resolve, 5));
	}
	const delay = (options.startAt ?? 0) - Date.now();
	if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
}

async function main() {
	const store = await openStore(config);
	await waitForStart();
	if (mode === 'reserve') {
		// Every worker walks the same contacts, in its own order, in batches as an execution would.
		const contacts = Array.from({ length: options.contacts! }, (_, i) => `+3361${String(1_000_000 + i)}`);
		const order = contacts.map((_, i) => i).sort(() => Math.random() - 0.5);
		const allowed: number[] = [];
		const batch = options.batch ?? 50;
		for (let i = 0; i < order.length; i += batch) {
			const part = order.slice(i, i + batch);
			const decisions = await store.caps.reserve(
				part.map((index) => ({
					contactKey: store.contactKey(contacts[index]),
					category: 'marketing' as const,
					phoneNumberId: 'phone-1',
					rule: { maxCount: 1, windowMs: 86_400_000, minGapMs: 0 },
					reservationTtlMs: 900_000,
				})),
				options.now!,
			);
			decisions.forEach((decision, j) => decision.allowed && allowed.push(part[j]));
			// An execution does other work between batches; without a pause a fast machine lets the first
			// process to wake take every contact (SQLite answers synchronously) and nothing races.
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
		console.log(JSON.stringify({ allowed }));
	} else if (mode === 'limiter') {
		const times: number[] = [];
		for (let taken = 0; taken < options.slots!; taken += 5) {
			const { now, waits } = await store.limiter.acquireSendSlots('phone-1', options.rate!, 5);
			// Slot times on the limiter's own clock: what it granted, free of this process's clock reading.
			for (const wait of waits) times.push(now + wait);
			// Sleep until the last slot, as a sender would, before asking for more.
			await new Promise((resolve) => setTimeout(resolve, Math.max(0, waits.at(-1)!)));
		}
		console.log(JSON.stringify({ times }));
	} else if (mode === 'write') {
		for (let i = 0; ; i++) {
			const contactKey = store.contactKey(`+3361${String(2_000_000 + i)}`);
			await store.ledger.recordConsent([
				{ contactKey, action: 'opt_in', categories: ['marketing'], at: Date.now(), source: `writer-${i}` },
			]);
			// Printed only after the commit returned: everything printed must survive a SIGKILL.
			process.stdout.write(`${i}\n`);
			// The store calls resolve at once, so this loop would never let the event loop run: a write to
			// the parent's pipe that had to be queued could then never be flushed.
			if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
		}
	}
	await store.close();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
