import {
	aliasIdentifiers,
	bsuidCountry,
	canonicalNumber,
	checkRecipient,
	identifierKeyMaterial,
	isBsuid,
	primaryIdentifier,
} from '../../nodes/core/contactIdentity';

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

// BSUIDs as Meta documents them ("Business-scoped user IDs"; whatsapp-api-js test/payloads.test.js uses
// US.13491208655302741918 and US.ENT.506847293015824; 360dialog's page BR.1502576394655843).
describe('identifiers: BSUIDs, parent BSUIDs and numbers are told apart', () => {
	test.each([
		['a BSUID', 'US.13491208655302741918', true, 'US', 'bsuid:US.13491208655302741918'],
		['a Brazilian BSUID', 'BR.1502576394655843', true, 'BR', 'bsuid:BR.1502576394655843'],
		['a parent BSUID', 'US.ENT.11815799212886844830', true, 'US', 'bsuid:US.ENT.11815799212886844830'],
		['alphanumeric after the period', 'HK.a1B2c3', true, 'HK', 'bsuid:HK.a1B2c3'],
		['a BSUID with spaces around it', ' US.13491208655302741918 ', false, undefined, 'bsuid:US.13491208655302741918'],
		['a number', '+33 6 12 34 56 78', false, undefined, '+33612345678'],
		['a wa_id', '5215512345678', false, undefined, '+525512345678'],
		['lower-case country is not a BSUID', 'us.13491208655302741918', false, undefined, '+13491208655302741918'],
		['a username is neither', '@testusername', false, undefined, undefined],
		['too long after the period', `US.${'1'.repeat(129)}`, false, undefined, `+${'1'.repeat(129)}`],
	])('%s: %s', (_, input, bsuid, country, material) => {
		expect(isBsuid(input)).toBe(bsuid);
		expect(bsuid ? bsuidCountry(input) : undefined).toBe(country);
		expect(identifierKeyMaterial(input)).toBe(material);
	});

	test('a BSUID never keys like the number made of its digits', () => {
		expect(identifierKeyMaterial('US.13491208655302741918')).not.toBe(identifierKeyMaterial('+13491208655302741918'));
	});

	test.each([
		[
			'number and BSUID: the number, the BSUID an alias',
			{ waId: '16315551181', userId: 'US.1' },
			'16315551181',
			['US.1'],
		],
		[
			'number, BSUID and parent: both BSUIDs aliases',
			{ waId: '16315551181', userId: 'US.1', parentUserId: 'US.ENT.2' },
			'16315551181',
			['US.1', 'US.ENT.2'],
		],
		['username user (no number): the BSUID', { userId: 'US.1', parentUserId: 'US.ENT.2' }, 'US.1', ['US.ENT.2']],
		['only a parent BSUID', { parentUserId: 'US.ENT.2' }, 'US.ENT.2', []],
		['nothing', {}, undefined, []],
	])('%s', (_, ids, primary, aliases) => {
		expect(primaryIdentifier(ids)).toBe(primary);
		expect(aliasIdentifiers(ids)).toEqual(aliases);
	});
});

describe('checkRecipient: what a CRM row may name a contact by', () => {
	test.each([
		[
			'a BSUID',
			'US.13491208655302741918',
			{ valid: true, identifierType: 'bsuid', recipient: 'US.13491208655302741918', parent: false, country: 'US' },
		],
		['a parent BSUID', 'US.ENT.506847293015824', { valid: true, identifierType: 'bsuid', parent: true }],
		[
			'a French mobile, national form',
			'06 12 34 56 78',
			{ valid: true, identifierType: 'phone', recipient: '+33612345678', e164: '+33612345678' },
		],
		['a username is not an identifier', '@testusername', { valid: false, reason: 'NOT_A_NUMBER' }],
		['nothing', '', { valid: false, reason: 'EMPTY' }],
	])('%s', (_, input, expected) => {
		expect(checkRecipient(input, 'FR')).toMatchObject(expected);
	});
});
