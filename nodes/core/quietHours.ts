/**
 * Quiet hours in the contact's local time: no marketing at 3 a.m. where the person lives. Windows may
 * cross midnight (21:00–09:00) and are computed with the zone's own rules, so DST changes move them
 * with local time.
 */
import { DateTime, IANAZone } from 'luxon';

export interface QuietWindow {
	/** Local start, "HH:mm". */
	start: string;
	/** Local end, "HH:mm" (earlier than start for a window across midnight). */
	end: string;
}

const HH_MM = /^([01]?\d|2[0-3]):([0-5]\d)$/;

export function parseLocalTime(text: string): { hour: number; minute: number } | undefined {
	const match = HH_MM.exec(text.trim());
	return match ? { hour: Number(match[1]), minute: Number(match[2]) } : undefined;
}

export function isValidZone(zone: string): boolean {
	return IANAZone.isValidZone(zone);
}

/**
 * Countries whose whole territory keeps one time zone, by ISO code. Countries with several zones (US,
 * CA, MX, BR, AU, RU, ES with the Canaries, PT with the Azores…) are left out on purpose: their
 * contacts need a zone from the CRM, or fall back to the configured one.
 */
const SINGLE_ZONE: Record<string, string> = {
	AE: 'Asia/Dubai',
	AR: 'America/Argentina/Buenos_Aires',
	AT: 'Europe/Vienna',
	BD: 'Asia/Dhaka',
	BE: 'Europe/Brussels',
	BG: 'Europe/Sofia',
	CH: 'Europe/Zurich',
	CN: 'Asia/Shanghai',
	CO: 'America/Bogota',
	CZ: 'Europe/Prague',
	DE: 'Europe/Berlin',
	DK: 'Europe/Copenhagen',
	EG: 'Africa/Cairo',
	FI: 'Europe/Helsinki',
	FR: 'Europe/Paris',
	GB: 'Europe/London',
	GH: 'Africa/Accra',
	GR: 'Europe/Athens',
	HK: 'Asia/Hong_Kong',
	HR: 'Europe/Zagreb',
	HU: 'Europe/Budapest',
	IE: 'Europe/Dublin',
	IL: 'Asia/Jerusalem',
	IN: 'Asia/Kolkata',
	IT: 'Europe/Rome',
	JP: 'Asia/Tokyo',
	KE: 'Africa/Nairobi',
	KR: 'Asia/Seoul',
	LU: 'Europe/Luxembourg',
	MA: 'Africa/Casablanca',
	MY: 'Asia/Kuala_Lumpur',
	NG: 'Africa/Lagos',
	NL: 'Europe/Amsterdam',
	NO: 'Europe/Oslo',
	PE: 'America/Lima',
	PH: 'Asia/Manila',
	PK: 'Asia/Karachi',
	PL: 'Europe/Warsaw',
	RO: 'Europe/Bucharest',
	RS: 'Europe/Belgrade',
	SA: 'Asia/Riyadh',
	SE: 'Europe/Stockholm',
	SG: 'Asia/Singapore',
	SK: 'Europe/Bratislava',
	SI: 'Europe/Ljubljana',
	TH: 'Asia/Bangkok',
	TR: 'Europe/Istanbul',
	TW: 'Asia/Taipei',
	UA: 'Europe/Kyiv',
	VE: 'America/Caracas',
	VN: 'Asia/Ho_Chi_Minh',
	ZA: 'Africa/Johannesburg',
};

/** The zone to judge a contact's quiet hours in: their own, their country's single zone, or the fallback. */
export function contactZone(
	itemZone: unknown,
	country: string | undefined,
	fallback: string,
): { zone: string; from: 'item' | 'country' | 'fallback' } {
	if (typeof itemZone === 'string' && itemZone.trim() && isValidZone(itemZone.trim()))
		return { zone: itemZone.trim(), from: 'item' };
	const single = country ? SINGLE_ZONE[country] : undefined;
	if (single) return { zone: single, from: 'country' };
	return { zone: fallback, from: 'fallback' };
}

/** The instant of local `hour:minute` on the local date of `day`; a time skipped by DST moves to just after the gap. */
function localInstant(day: DateTime, time: { hour: number; minute: number }): DateTime {
	return day.set({ hour: time.hour, minute: time.minute, second: 0, millisecond: 0 });
}

/**
 * When quiet hours end, if `now` falls inside them; undefined when sending is allowed now. A window
 * whose start equals its end is empty.
 */
export function quietUntil(now: number, zone: string, window: QuietWindow): number | undefined {
	const start = parseLocalTime(window.start);
	const end = parseLocalTime(window.end);
	if (!start || !end) throw new Error(`Quiet hours must be HH:mm, got ${window.start}–${window.end}`);
	const local = DateTime.fromMillis(now, { zone });
	const today = local.startOf('day');
	const minutes = local.hour * 60 + local.minute;
	const startMinutes = start.hour * 60 + start.minute;
	const endMinutes = end.hour * 60 + end.minute;
	if (startMinutes === endMinutes) return undefined;
	if (startMinutes < endMinutes) {
		// Same-day window, e.g. 12:00–14:00.
		return minutes >= startMinutes && minutes < endMinutes ? localInstant(today, end).toMillis() : undefined;
	}
	// Across midnight, e.g. 21:00–09:00: quiet from the start to midnight, and from midnight to the end.
	if (minutes >= startMinutes) return localInstant(today.plus({ days: 1 }), end).toMillis();
	if (minutes < endMinutes) return localInstant(today, end).toMillis();
	return undefined;
}
