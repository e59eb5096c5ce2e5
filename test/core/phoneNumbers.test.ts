import { checkPhoneNumber, NUMBER_TYPES, toCountryCode } from '../../nodes/core/phoneNumbers';
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

describe('checkPhoneNumber: forms libphonenumber’s reference implementation accepts (issue #20)', () => {
	test.each([
		['a full-width plus and digits (CJK keyboards)', '＋３３ ６ １２ ３４ ５６ ７８', undefined, '+33612345678'],
		['an ideographic space between full-width digits', '＋３３\u3000６１２３４５６７８', undefined, '+33612345678'],
		['Mexico: 52 1 … without the plus, default MX', '5215512345678', 'MX', '+525512345678'],
		['Mexico dialled from the US: 011 52 1 …', '011 52 1 55 1234 5678', 'US', '+525512345678'],
		['Mexico: the old 01 long-distance trunk', '01 55 1234 5678', 'MX', '+525512345678'],
		['Mexico: the old 044 mobile prefix', '044 55 1234 5678', 'MX', '+525512345678'],
	] as const)('%s: %s → %s', (_, input, country, e164) => {
		expect(checkPhoneNumber(input, country)).toMatchObject({ valid: true, e164 });
	});

	test('a vanity number is read with its letters as keypad digits: 1-800-FLOWERS is a toll-free number', () => {
		expect(checkPhoneNumber('1-800-FLOWERS', 'US')).toMatchObject({
			valid: false,
			reason: 'TYPE_NOT_ALLOWED',
			type: 'TOLL_FREE',
		});
		expect(checkPhoneNumber('1-800-FLOWERS', 'US', NUMBER_TYPES)).toMatchObject({
			valid: true,
			e164: '+18003569377',
		});
	});

	test('an extension’s letters are not read as a vanity number', () => {
		expect(checkPhoneNumber('+1 650 253 0000 ext. 1234', undefined, NUMBER_TYPES)).toMatchObject({
			valid: true,
			e164: '+16502530000',
			extension: '1234',
		});
	});
});
