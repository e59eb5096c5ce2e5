import { checkPhoneNumber, toCountryCode } from '../../nodes/core/phoneNumbers';
import { PHONE_CASES } from '../fixtures/phoneFormats';

describe('checkPhoneNumber: the real-world formats of test/fixtures/phoneFormats.ts', () => {
	test.each(PHONE_CASES.map((c) => [c.label, c] as const))('%s', (_, c) => {
		const result = checkPhoneNumber(c.phone, toCountryCode(c.country));
		if (c.valid) expect(result).toMatchObject({ valid: true, e164: c.e164, ...(c.type ? { type: c.type } : {}) });
		else expect(result).toMatchObject({ valid: false, reason: c.reason });
	});

	test('the wa_id is the E.164 number without its plus', () => {
		expect(checkPhoneNumber('+33 6 12 34 56 78')).toMatchObject({ e164: '+33612345678', waId: '33612345678' });
	});
});

describe('toCountryCode', () => {
	test.each([
		['FR', 'FR'],
		[' fr ', 'FR'],
		['', undefined],
		['France', undefined],
		[undefined, undefined],
	])('%p → %p', (input, expected) => expect(toCountryCode(input)).toBe(expected));
});
