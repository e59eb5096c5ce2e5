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
