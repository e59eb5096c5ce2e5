/**
 * CRM-like contact lists for the end-to-end test and the demo: real-looking French mobile numbers in
 * the formats exports contain, plus the messy rows a real list has.
 */
export interface Contact {
	contactId: string;
	phone: string;
	country: string;
	firstName: string;
	optIn: boolean;
	/** What should become of this contact in the campaign (the test's expectation). */
	kind: ContactKind;
}

export type ContactKind =
	'good' | 'invalid' | 'fixedLine' | 'duplicate' | 'noConsent' | 'stoppedEarlier' | 'notOnWhatsApp' | 'overCap';

const FIRST_NAMES = ['Ana', 'Bruno', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Gaëlle', 'Hugo', 'Inès', 'Jules'];

/** The E.164 form of the `n`th number of the French mobile range the lists use. */
export function mobileE164(n: number): string {
	return `+336${String(n).padStart(8, '0')}`;
}

/** The same number as a CRM might hold it: national with spaces, international, or 00-prefixed. */
export function crmFormat(e164: string, style: number): string {
	const national = `0${e164.slice(3)}`;
	switch (style % 3) {
		case 0:
			return national.replace(/(\d\d)(?=\d)/g, '$1 ');
		case 1:
			return `+33 ${e164.slice(3, 4)} ${e164.slice(4)}`;
		default:
			return `00${e164.slice(1)}`;
	}
}

export function contact(kind: ContactKind, n: number, phone: string, overrides: Partial<Contact> = {}): Contact {
	return {
		contactId: `${kind}-${n}`,
		phone,
		country: 'FR',
		firstName: FIRST_NAMES[n % FIRST_NAMES.length],
		optIn: true,
		kind,
		...overrides,
	};
}

/** `count` opted-in, valid, reachable contacts numbered from `first`. */
export function goodContacts(first: number, count: number, kind: ContactKind = 'good'): Contact[] {
	return Array.from({ length: count }, (_, i) => contact(kind, first + i, crmFormat(mobileE164(first + i), i)));
}

const INVALID_PHONES = ['n/a', '12', '+33 1', 'call me', '06 12', '+33 6 1234', '0000000000', 'tel:', '+999 123 456'];

export function invalidContacts(count: number): Contact[] {
	return Array.from({ length: count }, (_, i) => contact('invalid', i, INVALID_PHONES[i % INVALID_PHONES.length]));
}

/** French landlines (01…05): valid numbers, but not the mobile types the campaign allows. */
export function fixedLineContacts(first: number, count: number): Contact[] {
	return Array.from({ length: count }, (_, i) =>
		contact(
			'fixedLine',
			i,
			`01 42 ${String(first + i)
				.padStart(6, '0')
				.replace(/(\d\d)(?=\d)/g, '$1 ')}`,
		),
	);
}

/** The E.164 of a contact built by these helpers (undefined for invalid ones). */
export function e164Of(c: Contact): string | undefined {
	const digits = c.phone.replace(/\D/g, '');
	if (c.phone.startsWith('+')) return `+${digits}`;
	if (digits.startsWith('00')) return `+${digits.slice(2)}`;
	if (digits.startsWith('0') && digits.length === 10) return `+33${digits.slice(1)}`;
	return undefined;
}

export type MessyListSizes = Record<ContactKind, number>;

/**
 * A campaign list with everything a real export holds, numbered from `first`: good contacts, invalid
 * and landline numbers, duplicates of good ones in another format, contacts without consent, one who
 * replied STOP earlier, numbers not on WhatsApp and contacts already at their cap (the last three
 * need `CampaignEnvironment.prepareHistory`).
 */
export function messyList(
	first: number,
	sizes: MessyListSizes,
): { all: Contact[]; byKind: Record<ContactKind, Contact[]> } {
	const good = goodContacts(first, sizes.good);
	const byKind: Record<ContactKind, Contact[]> = {
		good,
		invalid: invalidContacts(sizes.invalid),
		fixedLine: fixedLineContacts(first % 1_000_000, sizes.fixedLine),
		duplicate: good
			.slice(0, sizes.duplicate)
			.map((c, i) => contact('duplicate', i, `+${e164Of(c)!.replace(/\D/g, '')}`)),
		noConsent: goodContacts(first + 400_000, sizes.noConsent, 'noConsent').map((c) => ({ ...c, optIn: false })),
		stoppedEarlier: goodContacts(first + 300_000, sizes.stoppedEarlier, 'stoppedEarlier'),
		notOnWhatsApp: goodContacts(first + 200_000, sizes.notOnWhatsApp, 'notOnWhatsApp'),
		overCap: goodContacts(first + 100_000, sizes.overCap, 'overCap'),
	};
	return { all: Object.values(byKind).flat(), byKind };
}
