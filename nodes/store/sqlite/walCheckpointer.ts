/**
 * Checkpoints the SQLite write-ahead log from a worker thread.
 *
 * SQLite's automatic checkpoint runs inside whichever commit crosses the threshold: it copies the log
 * into the database file and fsyncs it, on n8n's main thread. Measured during a 1,000 msg/s campaign:
 * a 70–120 ms stall about once a second, long enough that the requests held up behind it reach Meta
 * bunched (130429) and throughput is lost. A PASSIVE checkpoint from a second connection on its own
 * thread does the same work without taking the write lock, so commits carry on meanwhile.
 */
import { Worker } from 'node:worker_threads';

/** How often the worker checkpoints; a PASSIVE checkpoint with nothing to copy costs microseconds. */
export const CHECKPOINT_INTERVAL_MS = 500;
/**
 * The main connection's own automatic checkpoint, kept as a backstop at a size the worker never lets the
 * log reach (about 200 MB with 4 KB pages): should the worker die, the log still cannot grow for ever.
 */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 50_000;

// Plain JavaScript run by the worker (eval), so the package needs no extra entry file.
const WORKER_SOURCE = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file, { timeout: 0 });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
	try {
		checkpoint.get();
	} catch {
		// Another process is checkpointing (SQLITE_BUSY): its work counts for this one too.
	}
}, workerData.intervalMs);
parentPort.on('message', () => {
	clearInterval(timer);
	try { checkpoint.get(); } catch {}
	db.close();
	parentPort.close();
});
`;

export interface WalCheckpointer {
	stop(): Promise<void>;
}

/**
 * Starts the checkpoint thread for `file`, or returns undefined where worker threads are not available
 * (the caller then keeps SQLite's automatic checkpoint).
 */
export function startWalCheckpointer(file: string, intervalMs = CHECKPOINT_INTERVAL_MS): WalCheckpointer | undefined {
	let worker: Worker;
	try {
		worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, intervalMs } });
	} catch {
		return undefined;
	}
	// Never what keeps n8n (or a test run) alive.
	worker.unref();
	const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
	worker.on('error', () => undefined);
	return {
		async stop() {
			// Held until the thread has closed its connection (or 2 s have passed), so that a process
			// whose last work is closing the store does not exit with the thread mid-checkpoint.
			worker.ref();
			worker.postMessage('stop');
			let timer: NodeJS.Timeout | undefined;
			const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
			await Promise.race([exited, timeout]);
			clearTimeout(timer);
			await worker.terminate();
		},
	};
}
