/** Keeps a store's cap reservations holding while its process lives (core/retention.ts, RESERVATION_LEASE_MS). */
import { RESERVATION_LEASE_MS } from '../../core/retention';

/**
 * Renews the lease every third of its length, from the first reservation the process makes (a process
 * that never reserves runs no timer: measured, an idle interval timer cost node-level benchmarks a
 * quarter of their throughput). A renewal that fails (the store is away) is tried again at the next
 * tick; the timer never keeps the process alive.
 */
export class LeaseRenewal {
	private timer?: NodeJS.Timeout;
	private readonly renew: (now: number) => Promise<void>;

	constructor(renew: (now: number) => Promise<void>) {
		this.renew = renew;
	}

	start(): void {
		if (this.timer) return;
		this.timer = setInterval(() => {
			this.renew(Date.now()).catch(() => undefined);
		}, RESERVATION_LEASE_MS / 3);
		this.timer.unref();
	}

	stop(): void {
		clearInterval(this.timer);
		this.timer = undefined;
	}
}
