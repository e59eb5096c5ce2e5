import { classifyMetaError, META_ERROR_RULES, stopsSending, type ErrorClass } from '../../nodes/core/metaErrors';

describe('classifyMetaError: every code of the Cloud API error table', () => {
	const table: Array<[number, ErrorClass, string]> = [
		[0, 'STOP_ALL', 'auth failed'],
		[190, 'STOP_ALL', 'token expired'],
		[3, 'STOP_ALL', 'capability'],
		[10, 'STOP_ALL', 'permission denied'],
		[200, 'STOP_ALL', 'permission range start'],
		[250, 'STOP_ALL', 'permission range'],
		[299, 'STOP_ALL', 'permission range end'],
		[131005, 'STOP_ALL', 'access denied'],
		[368, 'STOP_ALL', 'policy block'],
		[131031, 'STOP_ALL', 'account locked'],
		[131042, 'STOP_ALL', 'billing'],
		[133010, 'STOP_ALL', 'number not registered'],
		[4, 'RETRY', 'app call-rate limit'],
		[80007, 'RETRY', 'WABA rate limit'],
		[130429, 'RETRY', 'throughput'],
		[1, 'RETRY', 'invalid request / server error'],
		[2, 'RETRY', 'service unavailable'],
		[131016, 'RETRY', 'service unavailable'],
		[133004, 'RETRY', 'server temporarily unavailable'],
		[131000, 'RETRY', 'unknown error'],
		[131057, 'RETRY', 'maintenance'],
		[131056, 'RETRY_RECIPIENT_LATER', 'pair rate'],
		[131048, 'STOP_CAMPAIGN', 'spam rate limit'],
		[132001, 'STOP_CAMPAIGN', 'template missing'],
		[132015, 'STOP_CAMPAIGN', 'template paused'],
		[132016, 'STOP_CAMPAIGN', 'template disabled'],
		[130497, 'PERMANENT', 'country barred'],
		[100, 'PERMANENT', 'invalid parameter'],
		[131008, 'PERMANENT', 'missing parameter'],
		[131009, 'PERMANENT', 'parameter value'],
		[131021, 'PERMANENT', 'same sender and recipient'],
		[131051, 'PERMANENT', 'unsupported type'],
		[132000, 'PERMANENT', 'parameter count'],
		[132005, 'PERMANENT', 'text too long'],
		[132007, 'PERMANENT', 'policy content'],
		[132012, 'PERMANENT', 'parameter format'],
		[132018, 'PERMANENT', 'newline in parameter'],
		[135000, 'PERMANENT', 'generic user error'],
		[131026, 'PERMANENT', 'undeliverable'],
		[131047, 'PERMANENT', 'outside 24 h window'],
		[131049, 'PERMANENT', 'per-user marketing limit'],
		[131050, 'PERMANENT', 'user stopped marketing'],
		[131053, 'PERMANENT', 'media upload'],
		[130472, 'PERMANENT', 'experiment group'],
		[131030, 'PERMANENT', 'not in allow-list'],
	];

	test.each(table)('code %i is %s (%s)', (code, expected) => {
		expect(classifyMetaError(code).errorClass).toBe(expected);
	});

	test('every code the table names explicitly is covered by the cases above', () => {
		const tested = new Set(table.map(([code]) => code));
		expect([...META_ERROR_RULES.keys()].filter((code) => !tested.has(code))).toEqual([]);
	});

	test.each([
		[131049, 'holdRecipientMs', 24 * 3_600_000],
		[131026, 'undeliverable', true],
		[131050, 'suppressMarketing', true],
		[131057, 'retryAfterMs', 60_000],
		[1, 'maxRetries', 1],
	] as const)('code %i carries %s = %p', (code, key, value) => {
		expect(classifyMetaError(code)[key]).toBe(value);
	});

	test.each([
		[undefined, undefined, 'RETRY', 'no response at all'],
		[undefined, 502, 'RETRY', '5xx without Meta envelope'],
		[undefined, 401, 'STOP_ALL', '401 without Meta envelope'],
		[undefined, 429, 'RETRY', '429 without Meta envelope'],
		[undefined, 404, 'PERMANENT', '404 without Meta envelope'],
		[999999, 400, 'RETRY', 'unknown code: retried once'],
	] as const)('code %p with HTTP %p is %s (%s)', (code, status, expected, _why) => {
		expect(classifyMetaError(code, status).errorClass).toBe(expected);
	});

	test('unknown codes are retried at most once', () => {
		expect(classifyMetaError(999999).maxRetries).toBe(1);
	});

	test('only campaign and account classes stop sending', () => {
		expect(stopsSending('STOP_CAMPAIGN')).toBe(true);
		expect(stopsSending('STOP_ALL')).toBe(true);
		expect(stopsSending('RETRY')).toBe(false);
		expect(stopsSending('RETRY_RECIPIENT_LATER')).toBe(false);
		expect(stopsSending('PERMANENT')).toBe(false);
	});
});
