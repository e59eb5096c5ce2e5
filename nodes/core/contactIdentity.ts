/**
 * One person, one number: WhatsApp IDs (wa_id) and E.164 numbers that name the same person in
 * different national forms are brought to one canonical number before it is keyed, so a STOP that
 * arrives from a wa_id blocks the number the CRM holds, and the reverse.
 *
 * - Mexico: accounts older than the 2019 numbering change keep a wa_id `521` + 10 digits; the number
 *   is `+52` + the same 10 digits (libphonenumber gives that form).
 * - Brazil: older accounts keep a 12-digit wa_id without the mobile 9 (`55` + area + 8 digits, the
 *   8 digits starting 6–9); the number is `+55` + area + `9` + the 8 digits.
 * - Argentina: mobiles are `+549` + 10 digits in E.164 and in wa_ids; a CRM number written without the
 *   9 (`+54` + area + local number) names the same line.
 *
 * Since April 2026 Meta also names people by business-scoped user IDs (BSUIDs, `user_id`): a two-letter
 * country code, a period and up to 128 alphanumerics (`US.13491208655302741918`); a parent BSUID, shared
 * by the portfolios of one managed business, has `ENT` after the country (`US.ENT.11815799212886844830`).
 * A user with a username may withhold their number: their updates then carry only the BSUID (Meta's
 * "Business-scoped user IDs" page; shapes in whatsapp-api-js's test/payloads.test.js). A BSUID is kept
 * exactly as Meta sent it (case matters) and is never mistaken for a number.
 */

import type { CountryCode } from 'libphonenumber-js/max';

import { checkPhoneNumber, type InvalidNumber, type NumberType, type ValidNumber } from './phoneNumbers';

/** A BSUID or parent BSUID as Meta writes it. */
const BSUID = /^([A-Z]{2})\.(ENT\.)?[A-Za-z0-9]{1,128}$/;

export function isBsuid(value: unknown): value is string {
	return typeof value === 'string' && BSUID.test(value);
}

/** The ISO country a BSUID starts with (`US.…` → `US`), or undefined. */
export function bsuidCountry(bsuid: string): string | undefined {
	return BSUID.exec(bsuid)?.[1];
}

/**
 * What the store keys for a person's identifier: a BSUID as itself (marked, so it can never equal a
 * number's form), a number or wa_id as its canonical E.164 number; undefined when it is neither.
 */
export function identifierKeyMaterial(identifier: string): string | undefined {
	const trimmed = identifier.trim();
	if (isBsuid(trimmed)) return `bsuid:${trimmed}`;
	return canonicalNumber(trimmed);
}

/**
 * The identifiers one update carries for one person. `waId` is the number (absent for a username
 * user who withholds it), `userId` the BSUID, `parentUserId` the parent BSUID.
 */
export interface PersonIdentifiers {
	waId?: string;
	userId?: string;
	parentUserId?: string;
}

/** The identifier an update is recorded under: the number when Meta gave one, else the BSUID, else the parent BSUID. */
export function primaryIdentifier(ids: PersonIdentifiers): string | undefined {
	return ids.waId || ids.userId || ids.parentUserId || undefined;
}

/** The person's other identifiers: learned as aliases of the primary one. */
export function aliasIdentifiers(ids: PersonIdentifiers): string[] {
	const primary = primaryIdentifier(ids);
	return [ids.userId, ids.parentUserId].filter((id): id is string => !!id && id !== primary);
}

/** The canonical E.164 form of a number or wa_id (digits with or without `+`), or undefined if it has no digits. */
export function canonicalNumber(numberOrWaId: string): string | undefined {
	const digits = numberOrWaId.replace(/\D/g, '');
	if (!digits) return undefined;
	// Mexico: 52 1 + 10 digits → 52 + 10 digits.
	if (/^521\d{10}$/.test(digits)) return `+52${digits.slice(3)}`;
	// Brazil: 55 + 2-digit area (11–99) + 8-digit mobile starting 6–9 → with the mobile 9.
	const brazil = /^55([1-9][1-9])([6-9]\d{7})$/.exec(digits);
	if (brazil) return `+55${brazil[1]}9${brazil[2]}`;
	// Argentina: 54 + 10 digits not starting with 9 → 549 + 10 digits.
	if (/^54[1-8]\d{9}$/.test(digits)) return `+549${digits.slice(2)}`;
	return `+${digits}`;
}

/** A recipient given as a BSUID (a username user who withheld their number, or a CRM that stores BSUIDs). */
export interface BsuidRecipient {
	valid: true;
	identifierType: 'bsuid';
	/** What Template Send addresses: Meta's `recipient` field. */
	recipient: string;
	bsuid: string;
	/** A parent BSUID (`XX.ENT.…`), shared by the portfolios of one managed business. */
	parent: boolean;
	/** The BSUID's country prefix (quiet hours use it when the item gives no time zone). */
	country?: string;
}

/** A number, with the identifier Template Send addresses (its E.164 form). */
export type NumberRecipient = ValidNumber & { identifierType: 'phone'; recipient: string };

export type RecipientCheck = NumberRecipient | BsuidRecipient | InvalidNumber;

/**
 * A contact's identifier as the CRM gives it: a BSUID (kept exactly as Meta wrote it) or a phone
 * number, checked as Number Validation checks numbers.
 */
export function checkRecipient(
	input: unknown,
	defaultCountry?: CountryCode,
	allowedTypes?: ReadonlySet<NumberType> | readonly NumberType[],
): RecipientCheck {
	const text = typeof input === 'string' ? input.trim() : undefined;
	if (text && isBsuid(text))
		return {
			valid: true,
			identifierType: 'bsuid',
			recipient: text,
			bsuid: text,
			parent: /^[A-Z]{2}\.ENT\./.test(text),
			country: bsuidCountry(text),
		};
	const number = checkPhoneNumber(input, defaultCountry, allowedTypes);
	return number.valid ? { ...number, identifierType: 'phone', recipient: number.e164 } : number;
}
