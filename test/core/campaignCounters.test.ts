import {
	CounterDeltas,
	countersSinceResume,
	hourBucket,
	readCounters,
	resumeDetails,
} from '../../nodes/core/campaignCounters';

describe('campaign counters: what the writer writes, the reader reads', () => {
	const at = Date.parse('2026-12-02T11:42:10Z');

	test('totals, by variant and by hour, by code and by reason', () => {
		const deltas = new CounterDeltas();
		deltas.add('spring', 'sent', { variant: 'B', at });
		deltas.add('spring', 'delivered', { variant: 'B', at });
		deltas.add('spring', 'failed');
		deltas.addKeyed('spring', 'failed', 131049);
		deltas.addKeyed('spring', 'deliveryFailed', 131026);
		deltas.addKeyed('spring', 'notSent', 'PAUSED');
		deltas.add(undefined, 'optOut'); // no campaign: nothing to count against
		expect(deltas.campaigns()).toEqual(['spring']);
		const [[, counters]] = deltas.entries();
		const read = readCounters(counters);
		expect(read.total('sent')).toBe(1);
		expect(read.total('failed')).toBe(1);
		expect(read.variants).toEqual({ B: { sent: 1, delivered: 1 } });
		expect(read.hours).toEqual({ '2026-12-02T11': { sent: 1, delivered: 1 } });
		expect(read.failuresByCode).toEqual([
			{ stage: 'send', code: 131049, count: 1 },
			{ stage: 'delivery', code: 131026, count: 1 },
		]);
		expect(read.notSentByReason).toEqual({ PAUSED: 1 });
	});

	test.each([
		['2026-12-02T11:00:00.000Z', '2026-12-02T11'],
		['2026-12-02T11:59:59.999Z', '2026-12-02T11'],
		['2026-12-31T23:30:00.000Z', '2026-12-31T23'],
	])('the hour of %s is %s (UTC)', (time, bucket) => expect(hourBucket(Date.parse(time))).toBe(bucket));

	test('a failure keyed by our reason (no Meta code) is not listed by code', () => {
		expect(readCounters({ 'failed:INVALID_RECIPIENT': 2 }).failuresByCode).toEqual([]);
	});

	test('counters since a resume subtract what the resume recorded', () => {
		const atResume = { delivered: 10, deliveryFailed: 8 };
		const now = { delivered: 15, deliveryFailed: 8, optOut: 1 };
		expect(countersSinceResume(now, { details: resumeDetails(atResume) })).toEqual({
			delivered: 5,
			deliveryFailed: 0,
			optOut: 1,
		});
		expect(countersSinceResume(now, undefined)).toEqual(now);
	});
});
