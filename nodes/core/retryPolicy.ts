/**
 * How long to wait before trying a failed send again, from Meta's advice per error class: exponential
 * backoff with jitter for throughput and transient errors, 4^n seconds for the pair rate (131056),
 * a fixed wait where Meta names one (131057: about a minute), never for permanent errors.
 */
import type { MetaErrorRule } from './metaErrors';

export interface RetryOptions {
	/** Retries after the first attempt. */
	maxRetries: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** 0..1; injectable for tests. */
	random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 60_000 };

/**
 * The wait before retry number `retry` (1 for the first retry), or undefined when the item must not
 * be retried (again).
 */
export function retryDelay(
	rule: MetaErrorRule,
	retry: number,
	options: RetryOptions = DEFAULT_RETRY,
): number | undefined {
	const limit = Math.min(options.maxRetries, rule.maxRetries ?? Infinity);
	if (retry > limit) return undefined;
	switch (rule.errorClass) {
		case 'RETRY': {
			if (rule.retryAfterMs !== undefined) return Math.min(rule.retryAfterMs, options.maxDelayMs);
			// Full jitter around the exponential step: retries from many executions do not line up.
			const step = Math.min(options.baseDelayMs * 2 ** (retry - 1), options.maxDelayMs);
			return Math.round(step / 2 + (options.random ?? Math.random)() * (step / 2));
		}
		case 'RETRY_RECIPIENT_LATER':
			// Meta: wait 4^n seconds, n = 0, 1, 2…
			return Math.min(1000 * 4 ** (retry - 1), options.maxDelayMs);
		default:
			return undefined;
	}
}
