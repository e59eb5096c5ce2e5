/** Units of time in milliseconds: every duration in the package is written with these. */
import { DateTime } from 'luxon';

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The local day holding `now` in `zone` (IANA): its start and the next day's start, in ms (DST-aware). */
export function localDay(now: number, zone: string): { start: number; next: number } {
	const day = DateTime.fromMillis(now, { zone }).startOf('day');
	return { start: day.toMillis(), next: day.plus({ days: 1 }).toMillis() };
}
