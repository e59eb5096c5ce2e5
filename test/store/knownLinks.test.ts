/** Each process's memory of seen links: bounded, emptied by Forget Contact, and trusted only for a while. */
import { KNOWN_LINK_TTL_MS, KnownLinks } from '../../nodes/store/identities/knownLinks';

describe('KnownLinks', () => {
	const T0 = 1_800_000_000_000;

	test('an alias is known from when it is remembered until the time to live has passed', () => {
		const known = new KnownLinks();
		expect(known.has('a', T0)).toBe(false);
		known.remember('a', T0);
		expect(known.has('a', T0)).toBe(true);
		expect(known.has('a', T0 + KNOWN_LINK_TTL_MS - 1)).toBe(true);
		// Another process may have forgotten the person meanwhile: ask the store again.
		expect(known.has('a', T0 + KNOWN_LINK_TTL_MS)).toBe(false);
	});

	test('clear forgets every alias at once', () => {
		const known = new KnownLinks();
		known.remember('a', T0);
		known.remember('b', T0);
		known.clear();
		expect([known.has('a', T0), known.has('b', T0)]).toEqual([false, false]);
	});

	test('past its limit it starts over instead of growing', () => {
		const known = new KnownLinks(2);
		known.remember('a', T0);
		known.remember('b', T0);
		known.remember('c', T0);
		expect([known.has('a', T0), known.has('b', T0), known.has('c', T0)]).toEqual([false, false, true]);
	});
});
