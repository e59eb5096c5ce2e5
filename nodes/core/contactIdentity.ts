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
 */

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
