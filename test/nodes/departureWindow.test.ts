import {
	DEPARTURE_WINDOW_MS,
	DepartureWindow,
	numberDepartures,
} from '../../nodes/WhatsAppTemplateSend/departureWindow';

describe('DepartureWindow: this process’s sends per counting window', () => {
	test('lets `limit` leave at once, then the next only when the oldest is a window old', () => {
		const window = new DepartureWindow(3, 1000);
		for (const at of [0, 1, 2]) {
			expect(window.waitMs(at)).toBe(0);
			window.record(at);
		}
		expect(window.waitMs(500)).toBe(500);
		expect(window.waitMs(1000)).toBe(0);
		window.record(1000);
		expect(window.waitMs(1000)).toBe(1);
	});

	test('a departure counted late (its request waited for a connection) holds back those a window later', () => {
		const window = new DepartureWindow(3, 1000);
		const first = window.record(0);
		window.record(1);
		window.record(2);
		expect(window.waitMs(1000)).toBe(0);
		// The first request only reached its socket at 300 ms (a new connection's handshake).
		window.departedAt(first, 300);
		expect(window.waitMs(1000)).toBe(300);
		// Never earlier than it was first counted.
		window.departedAt(first, 100);
		expect(window.waitMs(1000)).toBe(300);
		// A ticket whose entry has since been overwritten changes nothing.
		window.record(1300);
		window.departedAt(first, 5000);
		expect(window.waitMs(1300)).toBe(0);
		expect(window.waitMs(1000)).toBe(1);
	});

	/** The most departures in any window of `windowMs`. */
	function busiest(departures: number[], windowMs: number) {
		let most = 0;
		for (let i = 0, j = 0; i < departures.length; i++) {
			while (departures[i] - departures[j] >= windowMs - 1e-6) j++;
			most = Math.max(most, i - j + 1);
		}
		return most;
	}

	/** A schedule at 97 % of 80/s whose timers fire late, all together, after each of several stalls. */
	function run(window: DepartureWindow | undefined) {
		let seed = 7;
		const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
		const departures: number[] = [];
		let clock = 0;
		for (let slot = 0; slot < 4_000; slot++) {
			const due = slot * (1000 / (80 * 0.97));
			// Now and then the event loop is blocked for up to 300 ms.
			if (random() < 0.005) clock = Math.max(clock, due) + random() * 300;
			clock = Math.max(clock, due);
			if (window) {
				clock += window.waitMs(clock);
				window.record(clock);
			}
			departures.push(clock);
		}
		return departures;
	}

	/**
	 * A run starting with no open connection at 97 % of 100/s: the requests of the first 200 ms wait for
	 * handshakes and reach their sockets together at 200 ms, after which connections are reused. Returns
	 * when each request was written (what Meta counts).
	 */
	function coldStart(countWritten: boolean) {
		const window = new DepartureWindow(100, 1025);
		const pending: Array<{ ticket: number; at: number }> = [];
		const written: number[] = [];
		let clock = 0;
		for (let slot = 0; slot < 500; slot++) {
			clock = Math.max(clock, slot * (1000 / 97));
			for (;;) {
				// Writes that have happened by now are reported (the request's `finish`).
				while (pending.length && pending[0].at <= clock) {
					const { ticket, at } = pending.shift()!;
					if (countWritten) window.departedAt(ticket, at);
				}
				const wait = window.waitMs(clock);
				if (wait === 0) break;
				// Sleep until allowed, or until the next write is reported, whichever comes first.
				clock = Math.min(clock + wait, pending.length ? pending[0].at : Infinity);
			}
			const ticket = window.record(clock);
			const at = clock < 200 ? 200 : clock;
			written.push(at);
			if (at > clock) pending.push({ ticket, at });
		}
		return written.sort((a, b) => a - b);
	}

	test('at a cold start, requests held up by handshakes count from when they were written', () => {
		// Counted when they left the gate, the bunch at 200 ms plus the schedule a second later is too many…
		expect(busiest(coldStart(false), 1000)).toBeGreaterThan(100);
		// …counted when written, the window holds the schedule back until the bunch is a window old.
		expect(busiest(coldStart(true), 1025)).toBeLessThanOrEqual(100);
	});

	test('after a stall, slots that fell due together never put more than the limit in a second', () => {
		// Without the window, catching up after a stall and then keeping the schedule exceeds Meta's count…
		expect(busiest(run(undefined), 1000)).toBeGreaterThan(80);
		// …with it, not even in a second and a guard.
		const guarded = run(new DepartureWindow(80, 1025));
		expect(busiest(guarded, 1025)).toBeLessThanOrEqual(80);
		// And the cap costs little beyond the stalls themselves: the guarded run takes under 2 % longer than
		// the unguarded one.
		const unguarded = run(undefined);
		expect(guarded[guarded.length - 1] / unguarded[unguarded.length - 1]).toBeLessThan(1.02);
	});
});

describe('numberDepartures: one process’s departures per sending number', () => {
	test('every execution sending from a number at a rate shares its windows; another number or rate has its own', () => {
		const a = numberDepartures('phone-shared-1', 80);
		expect(numberDepartures('phone-shared-1', 80)).toBe(a);
		expect(numberDepartures('phone-shared-2', 80)).not.toBe(a);
		expect(numberDepartures('phone-shared-1', 1000)).not.toBe(a);
		// Two executions taking turns fill one window of 80 between them.
		const other = numberDepartures('phone-shared-1', 80);
		for (let i = 0; i < 40; i++) {
			a.departures.record(i);
			other.departures.record(i);
		}
		// The first left at 0: one more may leave a window after it.
		expect(a.departures.waitMs(100)).toBe(DEPARTURE_WINDOW_MS - 100);
	});

	test('a clock set back (a test’s fake time, an NTP step) never makes a departure wait more than one window', () => {
		const window = new DepartureWindow(2, 1000);
		window.record(10_000);
		window.record(10_001);
		expect(window.waitMs(0)).toBe(1000);
	});
});
