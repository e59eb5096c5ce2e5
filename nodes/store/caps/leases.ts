/** Keeps a store's cap reservations holding while its process lives (core/retention.ts, RESERVATION_LEASE_MS). */
import { RESERVATION_LEASE_MS } from '../../core/retention';

export interface LeaseHolder {
	renewLease(now: number): Promise<void>;
}

/**
 * Renews the lease every third of its length. A renewal that fails (the store is away) is tried again at
 * the next tick; the timer never keeps the process alive.
 */
export function renewLeases(holder: LeaseHolder): NodeJS.Timeout {
	const timer = setInterval(() => {
		holder.renewLease(Date.now()).catch(() => undefined);
	}, RESERVATION_LEASE_MS / 3);
	timer.unref();
	return timer;
}
