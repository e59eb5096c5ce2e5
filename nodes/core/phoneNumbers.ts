/**
 * Phone numbers as WhatsApp needs them: E.164 with a leading `+` (without it Meta prepends the
 * business's own country code), and the `wa_id` (the same digits without `+`). Every node that takes
 * a number normalises it here, so the Consent Gate and the store key contacts exactly as the Number
 * Validation node does.
 */
import {
	isSupportedCountry,
	parsePhoneNumberWithError,
	ParseError,
	validatePhoneNumberLength,
	type CountryCode,
} from 'libphonenumber-js/max';

export const NUMBER_TYPES = [
	'MOBILE',
	'FIXED_LINE_OR_MOBILE',
	'FIXED_LINE',
	'TOLL_FREE',
	'PREMIUM_RATE',
	'SHARED_COST',
	'VOIP',
	'PERSONAL_NUMBER',
	'PAGER',
	'UAN',
	'VOICEMAIL',
	'UNKNOWN',
] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

/** WhatsApp runs on mobiles; "fixed line or mobile" is how numbering plans like the US's report them. */
export const DEFAULT_ALLOWED_TYPES: readonly NumberType[] = ['MOBILE', 'FIXED_LINE_OR_MOBILE'];

export type InvalidNumberReason =
	'EMPTY' | 'NOT_A_NUMBER' | 'INVALID_COUNTRY' | 'TOO_SHORT' | 'TOO_LONG' | 'INVALID_FOR_REGION' | 'TYPE_NOT_ALLOWED';

export interface ValidNumber {
	valid: true;
	e164: string;
	waId: string;
	country?: string;
	nationalNumber: string;
	type: NumberType;
	extension?: string;
}

export interface InvalidNumber {
	valid: false;
	reason: InvalidNumberReason;
	/** The input as text (never an object), for the operator to fix the source data. */
	input: string;
	/** Which type the number was, when the reason is TYPE_NOT_ALLOWED. */
	type?: NumberType;
	country?: string;
}

export type NumberCheck = ValidNumber | InvalidNumber;

/** An ISO 3166-1 alpha-2 code libphonenumber knows, upper-cased; undefined otherwise. */
export function toCountryCode(value: unknown): CountryCode | undefined {
	if (typeof value !== 'string') return undefined;
	const code = value.trim().toUpperCase();
	return code.length === 2 && isSupportedCountry(code) ? (code as CountryCode) : undefined;
}

function inputText(input: unknown): string {
	if (typeof input === 'string') return input;
	if (typeof input === 'number' || typeof input === 'bigint') return String(input);
	try {
		return JSON.stringify(input) ?? String(input);
	} catch {
		return String(input);
	}
}

/**
 * Strips what CRMs add around numbers that libphonenumber does not expect: NBSP, zero-width marks,
 * quotes; and reads a full-width plus (CJK keyboards: `＋３３ ６ …`) as `+`, as the full-width digits
 * already are.
 */
const NEEDS_CLEANING = /[\u00a0\u2000-\u200f\u202f\u2060\u3000\ufeff'"‘’“”\uff0b\ufe62]/;

function clean(text: string): string {
	if (!NEEDS_CLEANING.test(text)) return text.trim();
	return text
		.replace(/[\uff0b\ufe62]/g, '+')
		.replace(/[\u00a0\u2000-\u200f\u202f\u2060\u3000\ufeff]/g, ' ')
		.replace(/^['"‘’“”\s]+|['"‘’“”\s]+$/g, '')
		.trim();
}

interface Parsed {
	number: ReturnType<typeof parsePhoneNumberWithError>;
}

function tryParse(text: string, country: CountryCode | undefined): Parsed | ParseError | undefined {
	try {
		return { number: parsePhoneNumberWithError(text, country ? { defaultCountry: country } : undefined) };
	} catch (error) {
		if (error instanceof ParseError) return error;
		return undefined;
	}
}

function lengthReason(parsed: Parsed): InvalidNumberReason {
	// Judged on the international form so that calling codes shared by several regions (+1, +7) work.
	const problem = validatePhoneNumberLength(parsed.number.number);
	if (problem === 'TOO_SHORT' || problem === 'TOO_LONG') return problem;
	return 'INVALID_FOR_REGION';
}

/**
 * Mexico dropped its mobile prefixes in 2019 (`+52 1 …` internationally, `044`/`045` at home), but CRM
 * data still carries them and libphonenumber now reads them as too long. WhatsApp addresses these
 * numbers without the prefix.
 */
function withoutLegacyPrefix(text: string, defaultCountry: CountryCode | undefined): string {
	const compact = text.replace(/[\s().\-/]/g, '');
	// +52 1 …, 00 52 1 … and, dialled from North America, 011 52 1 ….
	const international = /^(?:\+|00|011)521(\d{10})$/.exec(compact);
	if (international) return `+52${international[1]}`;
	if (defaultCountry === 'MX') {
		// 044/045 mobile prefixes, the 01 long-distance trunk, and 52 1 … written without the plus.
		const domestic = /^(?:04[45]|01|521)(\d{10})$/.exec(compact);
		if (domestic) return domestic[1];
	}
	return text;
}

const KEYPAD: Record<string, string> = Object.fromEntries(
	['ABC', 'DEF', 'GHI', 'JKL', 'MNO', 'PQRS', 'TUV', 'WXYZ'].flatMap((letters, i) =>
		[...letters].map((letter) => [letter, String(i + 2)]),
	),
);
/** An extension at the end ("ext. 12", "x12", "#12"): its letters are not part of the number. */
const EXTENSION = /\s*(?:ext\.?|extension|x|#)\s*\d+\s*$/i;

/**
 * A vanity number (`1-800-FLOWERS`) with its letters as keypad digits, as libphonenumber's reference
 * implementation reads numbers with three or more letters; anything else unchanged.
 */
function withKeypadDigits(text: string): string {
	const extension = EXTENSION.exec(text)?.[0] ?? '';
	const number = text.slice(0, text.length - extension.length);
	if ((number.match(/[A-Za-z]/g) ?? []).length < 3 || !/\d/.test(number)) return text;
	return number.replace(/[A-Za-z]/g, (letter) => KEYPAD[letter.toUpperCase()]) + extension;
}

function fromParseError(error: ParseError): InvalidNumberReason {
	switch (error.message) {
		case 'INVALID_COUNTRY':
			return 'INVALID_COUNTRY';
		case 'TOO_SHORT':
			return 'TOO_SHORT';
		case 'TOO_LONG':
			return 'TOO_LONG';
		default:
			return 'NOT_A_NUMBER';
	}
}

/**
 * Normalises one raw value from a CRM or sheet. Never throws: anything that is not a usable number
 * comes back as `{ valid: false, reason }`.
 *
 * - strings with spaces, dots, dashes, brackets, `(0)`, national trunk prefixes, unicode digits;
 * - a leading `00` (the international prefix of most countries) is read as `+` when the default
 *   country's own rules do not already make sense of it;
 * - JSON numbers (which lost their `+` in a spreadsheet) and bare digit strings that are not valid
 *   national numbers are tried once more as international numbers.
 */
export function checkPhoneNumber(
	input: unknown,
	defaultCountry?: CountryCode,
	allowedTypes: ReadonlySet<NumberType> | readonly NumberType[] = DEFAULT_ALLOWED_TYPES,
): NumberCheck {
	const text =
		typeof input === 'string'
			? clean(input)
			: typeof input === 'number' && Number.isFinite(input)
				? String(Math.trunc(Math.abs(input)))
				: undefined;
	if (input === undefined || input === null || text === '') return { valid: false, reason: 'EMPTY', input: text ?? '' };
	const raw = inputText(input);
	if (text === undefined) return { valid: false, reason: 'NOT_A_NUMBER', input: raw };
	if (!/[0-9\u0660-\u0669\u06f0-\u06f9\uff10-\uff19]/.test(text))
		return { valid: false, reason: 'NOT_A_NUMBER', input: raw };

	let result = tryParse(text, defaultCountry);
	// isValid() is the costly part of parsing (it matches the national number against the region's
	// patterns): ask it once per attempt.
	const parsedValid = (r: typeof result): r is Parsed =>
		r !== undefined && !(r instanceof ParseError) && r.number.isValid();
	let valid = parsedValid(result);

	// Most numbers parse at the first try; the rescue attempts below run only for the rest.
	if (!valid) {
		const compact = text.replace(/[\s().\-/]/g, '');
		const alternatives: string[] = [];
		const legacy = withoutLegacyPrefix(text, defaultCountry);
		if (legacy !== text) alternatives.push(legacy);
		const vanity = withKeypadDigits(text);
		if (vanity !== text) alternatives.push(vanity);
		if (/^00[1-9]/.test(compact)) alternatives.push(`+${compact.slice(2)}`);
		if ((typeof input === 'number' || /^\d{8,15}$/.test(compact)) && !compact.startsWith('0'))
			alternatives.push(`+${compact}`);
		for (const alternative of alternatives) {
			const retry = tryParse(alternative, alternative.startsWith('+') ? undefined : defaultCountry);
			if (parsedValid(retry)) {
				result = retry;
				valid = true;
				break;
			}
		}
	}

	if (result === undefined) return { valid: false, reason: 'NOT_A_NUMBER', input: raw };
	if (result instanceof ParseError) return { valid: false, reason: fromParseError(result), input: raw };
	const { number } = result;
	if (!valid) return { valid: false, reason: lengthReason(result), input: raw, country: number.country };

	const type = (number.getType() ?? 'UNKNOWN') as NumberType;
	const allowed = allowedTypes instanceof Set ? allowedTypes : new Set(allowedTypes);
	if (!allowed.has(type))
		return { valid: false, reason: 'TYPE_NOT_ALLOWED', input: raw, type, country: number.country };

	const normalised: ValidNumber = {
		valid: true,
		e164: number.number,
		waId: number.number.slice(1),
		country: number.country,
		nationalNumber: number.nationalNumber,
		type,
	};
	if (number.ext) normalised.extension = number.ext;
	return normalised;
}
