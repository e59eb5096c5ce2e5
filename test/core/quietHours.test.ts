import { contactZone, quietUntil } from '../../nodes/core/quietHours';

const at = (iso: string) => Date.parse(iso);
const night = { start: '21:00', end: '09:00' };

describe('quietUntil', () => {
	test.each([
		['before the window', '2026-06-10T18:59:00Z', 'Europe/Paris', night, undefined],
		['at the start exactly (21:00 Paris)', '2026-06-10T19:00:00Z', 'Europe/Paris', night, '2026-06-11T07:00:00.000Z'],
		['late evening, across midnight', '2026-06-10T21:30:00Z', 'Europe/Paris', night, '2026-06-11T07:00:00.000Z'],
		['after midnight', '2026-06-11T01:00:00Z', 'Europe/Paris', night, '2026-06-11T07:00:00.000Z'],
		['one minute before the end', '2026-06-11T06:59:00Z', 'Europe/Paris', night, '2026-06-11T07:00:00.000Z'],
		['at the end exactly (09:00 Paris)', '2026-06-11T07:00:00Z', 'Europe/Paris', night, undefined],
		[
			'spring forward: quiet night ends at 09:00 CEST, an hour earlier in UTC',
			'2026-03-28T21:00:00Z',
			'Europe/Paris',
			night,
			'2026-03-29T07:00:00.000Z',
		],
		[
			'autumn back: quiet night ends at 09:00 CET',
			'2026-10-24T21:00:00Z',
			'Europe/Paris',
			night,
			'2026-10-25T08:00:00.000Z',
		],
		['New York evening', '2026-11-03T02:30:00Z', 'America/New_York', night, '2026-11-03T14:00:00.000Z'],
		['New York across its DST change', '2026-11-01T03:00:00Z', 'America/New_York', night, '2026-11-01T14:00:00.000Z'],
		[
			'same-day window (lunch)',
			'2026-06-10T10:30:00Z',
			'Europe/Paris',
			{ start: '12:00', end: '14:00' },
			'2026-06-10T12:00:00.000Z',
		],
		['outside a same-day window', '2026-06-10T13:00:00Z', 'Europe/Paris', { start: '12:00', end: '14:00' }, undefined],
		['an empty window', '2026-06-10T13:00:00Z', 'Europe/Paris', { start: '09:00', end: '09:00' }, undefined],
	])('%s', (_label, now, zone, window, expected) => {
		const until = quietUntil(at(now), zone, window);
		expect(until === undefined ? undefined : new Date(until).toISOString()).toBe(expected);
	});

	test('rejects a malformed time', () => {
		expect(() => quietUntil(0, 'UTC', { start: '9pm', end: '09:00' })).toThrow(
			'Quiet hours must be HH:mm, got 9pm–09:00',
		);
	});
});

describe('contactZone', () => {
	test.each([
		['a valid zone from the item wins', 'Asia/Tokyo', 'FR', { zone: 'Asia/Tokyo', from: 'item' }],
		['a single-zone country', undefined, 'FR', { zone: 'Europe/Paris', from: 'country' }],
		['a country with several zones falls back', undefined, 'US', { zone: 'Europe/Lisbon', from: 'fallback' }],
		['an invalid item zone is ignored', 'Mars/Olympus', 'DE', { zone: 'Europe/Berlin', from: 'country' }],
		['nothing known', '', undefined, { zone: 'Europe/Lisbon', from: 'fallback' }],
	])('%s', (_label, itemZone, country, expected) => {
		expect(contactZone(itemZone, country, 'Europe/Lisbon')).toEqual(expected);
	});
});
