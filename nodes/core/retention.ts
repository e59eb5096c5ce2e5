/**
 * How long the store keeps what. Both backends read these (the SQL prunes and the Lua's PEXPIREs are
 * built from them), so a change here changes both.
 */
import { DAY_MS, HOUR_MS } from './time';

/** A send this old can no longer count towards any cap (the longest cap window is 30 days). */
export const SEND_LOG_RETENTION_MS = 35 * DAY_MS;
/** Expired, unconfirmed reservations are kept this long so a late confirmation still finds them. */
export const EXPIRED_RESERVATION_GRACE_MS = DAY_MS;
/** The phone-wide budgets look back 24 h; their sets live a little longer than that. */
export const PHONE_WINDOW_TTL_MS = DAY_MS + HOUR_MS;
/** An idle phone number's throughput limiter state (the next slot's time) is dropped after this. */
export const LIMITER_STATE_TTL_MS = DAY_MS;
/** Meta retries failed webhook deliveries for up to 7 days: a dedupe mark outlives that. */
export const WEBHOOK_DEDUPE_TTL_MS = 8 * DAY_MS;

/**
 * A process's hold on its unconfirmed cap reservations: renewed every third of this while it lives.
 * Once it lapses (the process was killed: a queue-mode worker, a crashed n8n) the reservations it left
 * no longer hold anyone back, so a re-run reaches the people it never messaged at once instead of when
 * the reservations expire. The send log, not the cap, keeps anyone it did message from a second one.
 */
export const RESERVATION_LEASE_MS = 30_000;
