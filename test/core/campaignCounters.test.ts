import { callbackData, parseCallbackData } from '../../nodes/core/callbackData';
import {
	CounterDeltas,
	countersSinceResume,
	hourBucket,
	readCounters,
	resumeDetails,
} from '../../nodes/core/campaignCounters';
import { campaignReport } from '../../nodes/core/campaignReport';

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

describe('campaign report from counters', () => {
	test('rates and failures from the counters', () => {
		const report = campaignReport('spring', {
			sent: 10,
			delivered: 8,
			read: 4,
			deliveryFailed: 2,
			'deliveryFailed:131026': 2,
			optOut: 1,
			'notSent:ALREADY_SENT': 3,
			notSent: 3,
		});
		expect(report).toMatchObject({
			sent: 10,
			delivered: 8,
			deliveryRate: 0.8,
			readRate: 0.5,
			optOutRate: 0.1,
			notSentByReason: { ALREADY_SENT: 3 },
			failuresByCode: [{ code: 131026, count: 2, stage: 'delivery' }],
		});
	});

	test('no finals: no rates', () => {
		expect(campaignReport('empty', {})).toMatchObject({ deliveryRate: null, readRate: null, optOutRate: null });
	});
});

describe('callback data', () => {
	test.each([
		['spring', 'A', 'spring|A', { campaignId: 'spring', variant: 'A' }],
		['wf:1|x', 'B', 'wf:1|x|B', { campaignId: 'wf:1|x', variant: 'B' }],
	])('%s / %s is written %s and read back', (campaignId, variant, written, read) => {
		expect(callbackData(campaignId, variant)).toBe(written);
		expect(parseCallbackData(written)).toEqual(read);
	});

	test('never longer than Meta’s 512 characters', () => {
		expect(callbackData('c'.repeat(600), 'A')).toHaveLength(512);
	});

	test.each([[undefined], [''], [42]])('nothing to read from %p', (data) => expect(parseCallbackData(data)).toEqual({}));
});
