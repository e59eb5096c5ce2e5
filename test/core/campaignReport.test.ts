import { campaignReport, funnelSvg, timelineSvg } from '../../nodes/core/campaignReport';

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

describe('funnel chart', () => {
	test('bars for each stage and the rates, with the campaign id escaped', () => {
		const svg = funnelSvg(campaignReport('<spring & co>', { sent: 4, delivered: 3, deliveryFailed: 1 }));
		expect(svg).toContain('Campaign &lt;spring &amp; co&gt;');
		expect(svg).toContain('Delivery rate 75.0 %');
		expect(svg).toContain('opt-out rate 0.0 %');
	});
});

describe('the per-hour chart', () => {
	test('one line per series across the hours, scaled to the busiest hour', () => {
		const report = campaignReport('spring', {
			'hour:2026-12-02T10:sent': 100,
			'hour:2026-12-02T10:delivered': 90,
			'hour:2026-12-02T11:sent': 50,
			'hour:2026-12-02T11:read': 40,
		});
		const svg = timelineSvg(report);
		expect(svg.match(/<polyline /g)).toHaveLength(3);
		// Sent: 100 at the top of the plot (y = 50), 50 halfway (y = 145).
		expect(svg).toContain('points="60.0,50.0 600.0,145.0"');
		expect(svg).toContain('12-02T10h');
		expect(svg).toContain('12-02T11h');
	});

	test('a campaign with no hours yet still draws', () => {
		expect(timelineSvg(campaignReport('empty', {}))).toContain('<svg');
	});
});
