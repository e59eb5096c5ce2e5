import { judgeShare } from '../../nodes/core/runGuards';

describe('judgeShare: a run whose share of flagged items signals a bad list', () => {
	const options = { thresholdPercent: 5, minimumRunSize: 20 };
	test.each([
		['under the threshold', 1, 100, false],
		['at the threshold exactly', 5, 100, false],
		['over the threshold', 6, 100, true],
		['a small run is never judged', 3, 10, false],
		['an empty run', 0, 0, false],
	])('%s: %i of %i → exceeded %s', (_, flagged, total, exceeded) => {
		const reasons = Array.from({ length: flagged }, (_, i) => (i % 2 ? 'TOO_SHORT' : 'NOT_A_NUMBER'));
		expect(judgeShare(reasons, total, 'invalid', options).exceeded).toBe(exceeded);
	});

	test('reasons are counted, most frequent first, and summarised in one sentence', () => {
		const verdict = judgeShare(['B', 'A', 'A', 'C', 'A', 'B'], 50, 'invalid', options);
		expect(verdict.topReasons).toEqual([
			{ reason: 'A', count: 3 },
			{ reason: 'B', count: 2 },
			{ reason: 'C', count: 1 },
		]);
		expect(verdict.summary).toBe('12.0 % of the 50 items are invalid (threshold 5 %): A 3, B 2, C 1');
	});
});
