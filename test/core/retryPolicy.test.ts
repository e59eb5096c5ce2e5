import { classifyMetaError } from '../../nodes/core/metaErrors';
import { retryDelay } from '../../nodes/core/retryPolicy';

const options = { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 60_000, random: () => 1 };

describe('retryDelay', () => {
	test.each([
		['throughput 130429, 1st retry', 130429, 1, 500],
		['throughput 130429, 3rd retry', 130429, 3, 2000],
		['5xx without envelope, 5th retry', undefined, 5, 8000],
		['throughput beyond max retries', 130429, 6, undefined],
		['131000 is retried at most 3 times', 131000, 4, undefined],
		['code 1 is retried at most once', 1, 2, undefined],
		['131057 maintenance waits a minute', 131057, 1, 60_000],
		['pair rate 131056: 4^0 s', 131056, 1, 1000],
		['pair rate 131056: 4^2 s', 131056, 3, 16_000],
		['permanent 131026 is never retried', 131026, 1, undefined],
		['stop-the-campaign 131048 is never retried', 131048, 1, undefined],
		['stop-everything 190 is never retried', 190, 1, undefined],
	])('%s', (_label, code, retry, expected) => {
		expect(retryDelay(classifyMetaError(code, code === undefined ? 503 : 400), retry, options)).toBe(expected);
	});

	test('jitter keeps the wait between half and all of the step', () => {
		const rule = classifyMetaError(130429);
		expect(retryDelay(rule, 2, { ...options, random: () => 0 })).toBe(500);
		expect(retryDelay(rule, 2, { ...options, random: () => 1 })).toBe(1000);
	});
});
