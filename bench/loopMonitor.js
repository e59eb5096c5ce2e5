/**
 * Preloaded into the benchmark's n8n when LOOP_MONITOR_MS is set: every LOOP_MONITOR_MS, prints the
 * event loop's delay (p50/p99/max since the last print) and the resident memory to stderr.
 */
const { monitorEventLoopDelay } = require('node:perf_hooks');

const every = Number(process.env.LOOP_MONITOR_MS || 0);
if (every > 0) {
	const histogram = monitorEventLoopDelay({ resolution: 10 });
	histogram.enable();
	const timer = setInterval(() => {
		const ms = (ns) => Math.round(ns / 1e5) / 10;
		process.stderr.write(
			`[loop] p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB\n`,
		);
		histogram.reset();
	}, every);
	timer.unref();
}
