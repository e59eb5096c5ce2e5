/**
 * Where the CPU time of a V8 `.cpuprofile` (node --cpu-prof) goes, by the code that ran: this
 * package's store, its other code, the HTTP stack, n8n, garbage collection, idle.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string };
}

const CATEGORIES: Array<[string, (url: string, fn: string) => boolean]> = [
	['idle', (_url, fn) => fn === '(idle)'],
	['gc', (_url, fn) => fn === '(garbage collector)'],
	['our store (SQLite)', (url) => /n8n-nodes-whatsapp-compliance\/dist\/nodes\/store\//.test(url)],
	['our nodes (other)', (url) => /n8n-nodes-whatsapp-compliance\/dist\//.test(url)],
	[
		'HTTP client (axios, http, TLS, sockets)',
		(url) =>
			/\/axios\/|node:_http|node:https|node:_tls|node:tls|node:net|node:stream|node:internal\/streams|follow-redirects|proxy/.test(
				url,
			),
	],
	['n8n (core, workflow, cli, webhooks, db)', (url) => /\/n8n[-a-z]*\/|@n8n\/|typeorm|sqlite3/.test(url)],
	['other JavaScript and Node internals', (url) => url !== ''],
	['native (program, no JS frame)', () => true],
];

export function profileBreakdown(file: string): Record<string, number> {
	const profile = JSON.parse(readFileSync(file, 'utf8')) as {
		nodes: ProfileNode[];
		samples: number[];
		timeDeltas: number[];
	};
	const categoryOf = new Map<number, string>();
	for (const node of profile.nodes) {
		const { url, functionName } = node.callFrame;
		categoryOf.set(node.id, CATEGORIES.find(([, match]) => match(url, functionName))![0]);
	}
	const micros: Record<string, number> = {};
	profile.samples.forEach((id, i) => {
		const category = categoryOf.get(id)!;
		micros[category] = (micros[category] ?? 0) + (profile.timeDeltas[i] ?? 0);
	});
	return micros;
}
