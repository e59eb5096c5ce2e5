/** Reading loosely typed CRM values (strings from sheets, numbers, booleans, dates) without throwing. */
import { MESSAGE_CATEGORIES, type MessageCategory } from '../core/types';

const TRUE = new Set([
	'true',
	'yes',
	'y',
	'1',
	'on',
	'opted in',
	'opted-in',
	'optin',
	'subscribed',
	'oui',
	'si',
	'sí',
	'ja',
	'sim',
]);
const FALSE = new Set([
	'false',
	'no',
	'n',
	'0',
	'off',
	'opted out',
	'opted-out',
	'optout',
	'unsubscribed',
	'non',
	'nein',
	'não',
	'nao',
]);

/** true / false, or undefined when the field is empty or unrecognisable (not mapped, not known). */
export function toFlag(value: unknown): boolean | undefined {
	if (typeof value === 'boolean') return value;
	if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : undefined;
	if (typeof value !== 'string') return undefined;
	const text = value.trim().toLowerCase();
	if (TRUE.has(text)) return true;
	if (FALSE.has(text)) return false;
	return undefined;
}

/** Milliseconds since the epoch from an ISO string, a Date/DateTime, or epoch seconds or milliseconds. */
export function toTime(value: unknown): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (typeof value === 'number' && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
	if (typeof value === 'object' && typeof (value as { toMillis?: unknown }).toMillis === 'function') {
		return (value as { toMillis(): number }).toMillis();
	}
	if (typeof value === 'string') {
		const text = value.trim();
		if (/^\d{9,13}$/.test(text)) return toTime(Number(text));
		const parsed = Date.parse(text);
		return Number.isNaN(parsed) ? undefined : parsed;
	}
	return undefined;
}

/** Categories from a list or a comma-separated string; undefined when empty (= all). */
export function toCategories(value: unknown): MessageCategory[] | undefined {
	const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[,;|]/) : [];
	const categories = parts
		.map((p) => String(p).trim().toLowerCase())
		.filter((p): p is MessageCategory => (MESSAGE_CATEGORIES as readonly string[]).includes(p));
	return categories.length ? [...new Set(categories)] : undefined;
}

export const iso = (time: number | null | undefined) => (time == null ? null : new Date(time).toISOString());
