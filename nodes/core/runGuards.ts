/**
 * Run-level guards: a share of the run's items that signals a bad list. Meta judges a sender by its
 * lists (practitioners see sending frozen when over ~5 % of a list is invalid; over ~3 % opted-out is a
 * warning sign), so a node can stop the workflow before such a list reaches Template Send.
 */

export type GuardAction = 'stop' | 'warn' | 'off';

export interface ShareGuardOptions {
	/** Percent of the run, e.g. 5 for 5 %. */
	thresholdPercent: number;
	/** Runs smaller than this are never judged: 1 bad number in 3 is not a bad list. */
	minimumRunSize: number;
}

export interface ShareGuardVerdict {
	exceeded: boolean;
	/** Share of flagged items, 0–1. */
	share: number;
	flagged: number;
	total: number;
	/** Flagged items by reason, most frequent first. */
	topReasons: Array<{ reason: string; count: number }>;
	/** One sentence an operator can act on. */
	summary: string;
}

export function judgeShare(
	flaggedReasons: readonly string[],
	total: number,
	what: string,
	options: ShareGuardOptions,
): ShareGuardVerdict {
	const counts = new Map<string, number>();
	for (const reason of flaggedReasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
	const topReasons = [...counts.entries()]
		.map(([reason, count]) => ({ reason, count }))
		.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
	const flagged = flaggedReasons.length;
	const share = total === 0 ? 0 : flagged / total;
	const exceeded = total >= options.minimumRunSize && share * 100 > options.thresholdPercent;
	const percent = (share * 100).toFixed(1);
	const reasons = topReasons
		.slice(0, 5)
		.map((r) => `${r.reason} ${r.count}`)
		.join(', ');
	const summary = `${percent} % of the ${total} items are ${what} (threshold ${options.thresholdPercent} %)${reasons ? `: ${reasons}` : ''}`;
	return { exceeded, share, flagged, total, topReasons, summary };
}
