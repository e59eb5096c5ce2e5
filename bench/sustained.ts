/**
 * Sustained rate: accepted messages per second between the first and the last acceptance the sandbox
 * logged, i.e. while the sender was sending. The end-to-end figure next to it also counts what happens
 * before the first request and after the last (n8n receiving and splitting the list, reading the
 * contacts, saving the execution), which grows with the list and is not the sender's pace.
 */
export function sustainedRate(acceptedAt: number[]): number {
	if (acceptedAt.length < 2) return NaN;
	let first = Infinity;
	let last = -Infinity;
	for (const at of acceptedAt) {
		if (at < first) first = at;
		if (at > last) last = at;
	}
	return last > first ? (acceptedAt.length - 1) / ((last - first) / 1000) : NaN;
}
