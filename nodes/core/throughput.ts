/**
 * The shared throughput limiter's rule: GCRA (generic cell rate algorithm) without burst. Consecutive
 * slots are exactly 1/rate apart, so no 1-second window holds more than `rate` sends. `tat` is the
 * theoretical arrival time of the next slot. The embedded store runs this function; the Redis store's
 * Lua (store/limiter/redis.ts) is the same three lines on Redis' clock.
 */
export function gcraSlots(
	tat: number | undefined,
	now: number,
	ratePerSecond: number,
	count: number,
): { waits: number[]; tat: number } {
	assertRate(ratePerSecond);
	const interval = 1000 / ratePerSecond;
	const start = Math.max(tat ?? now, now);
	const waits = Array.from({ length: count }, (_, i) => start - now + i * interval);
	return { waits, tat: start + count * interval };
}

export function assertRate(ratePerSecond: number): void {
	if (!(ratePerSecond > 0)) throw new Error(`Throughput must be a positive rate, got ${ratePerSecond}`);
}

/**
 * The number's departure window, counted by every process sending from it: at most `limit` requests
 * leave in any window of `windowMs`. With `count` departures already in the window (the oldest at
 * `oldest`), 0 when one more may leave now (the caller records it), else how long until the oldest
 * leaves the window. The embedded store runs this; the Redis store's Lua (store/limiter/redis.ts) is
 * the same on Redis' clock. The GCRA slots space a number's sends; this caps what reaches Meta in a
 * second when slots of several processes fall due together (after one of them stalled).
 */
export function departureWait(
	count: number,
	oldest: number | undefined,
	now: number,
	limit: number,
	windowMs: number,
): number {
	if (count < limit || oldest === undefined) return 0;
	return Math.min(windowMs, Math.max(1, oldest + windowMs - now));
}
