import { canonicalNumber } from '../../nodes/core/contactIdentity';

describe('canonicalNumber: national wa_id forms resolve to the number the CRM holds', () => {
	test.each([
		// Mexico: the 521 wa_ids of accounts older than 2019 (issue #17's measurement).
		['Mexico wa_id with the old 1', '5215512345678', '+525512345678'],
		['Mexico E.164', '+525512345678', '+525512345678'],
		['Mexico E.164 written with the old 1', '+52 1 55 1234 5678', '+525512345678'],
		// Brazil: 12-digit wa_ids without the mobile 9 (issue #17: 553196883194 for +5531996883194).
		['Brazil 12-digit wa_id, Belo Horizonte', '553196883194', '+5531996883194'],
		['Brazil 13-digit wa_id', '5531996883194', '+5531996883194'],
		['Brazil E.164', '+5511987654321', '+5511987654321'],
		['Brazil landline (starts 2–5) is left alone', '551133334444', '+551133334444'],
		// Argentina: mobiles carry the 9 after 54.
		['Argentina mobile wa_id', '5491112345678', '+5491112345678'],
		['Argentina mobile written without the 9', '+54 11 1234 5678', '+5491112345678'],
		// Everyone else: digits as they are.
		['France', '33612345678', '+33612345678'],
		['US', '+1 (650) 555-1234', '+16505551234'],
		['no digits', 'US.13491208655302741918'.replace(/\d/g, ''), undefined],
	])('%s: %s → %s', (_, input, expected) => {
		expect(canonicalNumber(input)).toBe(expected);
	});

	test('the wa_id and the E.164 number of one person give one canonical form', () => {
		for (const [waId, e164] of [
			['5215512345678', '+525512345678'],
			['553196883194', '+5531996883194'],
			['5491112345678', '+5491112345678'],
		])
			expect(canonicalNumber(waId)).toBe(canonicalNumber(e164));
	});
});
