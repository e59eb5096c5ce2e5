/**
 * Pacing of Template Send's departures: how far under the configured rate the shared limiter
 * schedules, and this process's own per-second window on top of it.
 */

/**
 * Share of the configured rate the shared limiter schedules (CampaignRun.nextSlot in sendCampaign.ts):
 * under the window's own bound (the rate per DEPARTURE_WINDOW_MS, 96.2 %), so the even schedule sets
 * the pace and the window only cuts bursts.
 */
export const PACING_HEADROOM = 0.96;
/**
 * Meta counts a number's messages per second as they arrive. Requests reach it some ms apart from when
 * they left (network, the event loop of either side); this much slack on the counting window absorbs
 * that. At 25 ms, real queue mode at 1,000/s still drew a few dozen 130429s in 30,000 (`send.queue1000`).
 */
export const WINDOW_GUARD_MS = 40;
/** The counting window of a number's departures: Meta's second, plus the guard. */
export const DEPARTURE_WINDOW_MS = 1000 + WINDOW_GUARD_MS;
/**
 * The number's window across processes admits a departure when asked; the request must leave soon
 * after, or it reaches Meta bunched with departures other processes were admitted since. An admission
 * asked longer ago than this by the time the request would leave (the worker stalled, the claim
 * waited) is swapped for a new one. Well under WINDOW_GUARD_MS, which also absorbs the network.
 */
export const ADMISSION_FRESH_MS = 12;
/** Catching up after a stall: at most twice the rate, counted over this window. */
export const CATCH_UP_WINDOW_MS = 50;
/** Slots are taken from the shared limiter this many ms' worth at a time (one store call, not one per send). */
export const SLOT_BATCH_MS = 20;

/**
 * This process's departures, kept to at most `limit` in any window of 1 s + guard, whatever the timers
 * do. The shared limiter spaces requests evenly, but after the event loop stalls (n8n's own work, GC)
 * every slot that fell due during the stall is taken at once; without this cap such a burst, added to
 * the next second's schedule, is what Meta answers with 130429. A sliding log of the last `limit`
 * departure times: one more may leave once the oldest is a full window old.
 */
export class DepartureWindow {
	private readonly times: Float64Array;
	private readonly windowMs: number;
	/** Departures recorded so far; the next one goes to `recorded % limit`, over the oldest. */
	private recorded = 0;

	constructor(limit: number, windowMs = DEPARTURE_WINDOW_MS) {
		this.times = new Float64Array(Math.max(1, Math.floor(limit)));
		this.windowMs = windowMs;
	}

	/** Milliseconds until one more departure is allowed (0: now); never more than a window (a clock set back). */
	waitMs(now: number): number {
		if (this.recorded < this.times.length) return 0;
		return Math.min(this.windowMs, Math.max(0, this.times[this.recorded % this.times.length] + this.windowMs - now));
	}

	/** Counts a departure at `now`; returns its ticket for `departedAt`. */
	record(now: number): number {
		this.times[this.recorded % this.times.length] = now;
		return this.recorded++;
	}

	/**
	 * The departure really left at `at` (its request reached the socket): counted from then, if later.
	 * A request that waited for a new connection's handshake reaches Meta that much later, bunched
	 * with those behind it; counting it late keeps the window on what Meta sees.
	 */
	departedAt(ticket: number, at: number): void {
		// Entries older than the log's length have been overwritten and no longer count.
		if (this.recorded - ticket > this.times.length) return;
		const index = ticket % this.times.length;
		if (at > this.times[index]) this.times[index] = at;
	}
}

/** A process's two departure logs for one sending number (see CampaignRun.depart in sendCampaign.ts). */
export interface NumberDepartures {
	/** At most the rate in any window of 1 s + guard. */
	departures: DepartureWindow;
	/** Catching up after a stall: at most twice the rate over CATCH_UP_WINDOW_MS. */
	catchUp: DepartureWindow;
}

const byNumber = new Map<string, NumberDepartures>();

/**
 * This process's departures from one phone number ID at one rate, shared by every execution sending
 * from it: Meta counts the number's messages, not an execution's, so two campaigns running at once in
 * one n8n (or a queue-mode worker running several jobs) stay within the rate together, and catch up
 * together after a stall rather than each at twice the rate.
 */
export function numberDepartures(phoneNumberId: string, ratePerSecond: number): NumberDepartures {
	const key = `${phoneNumberId}|${ratePerSecond}`;
	let shared = byNumber.get(key);
	if (!shared) {
		shared = {
			departures: new DepartureWindow(ratePerSecond),
			catchUp: new DepartureWindow(
				Math.max(2, Math.ceil((2 * ratePerSecond * CATCH_UP_WINDOW_MS) / 1000)),
				CATCH_UP_WINDOW_MS,
			),
		};
		byNumber.set(key, shared);
	}
	return shared;
}
