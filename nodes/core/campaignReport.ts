/** A campaign's figures from its counters (Template Send's and the Delivery Monitor's), and a funnel chart. */
import { readCounters } from './campaignCounters';
import type { CampaignCost } from './pricing';
import { classifyMetaError } from './metaErrors';

export interface CampaignReport {
	campaignId: string;
	sent: number;
	failedAtSend: number;
	notSent: number;
	delivered: number;
	read: number;
	deliveryFailed: number;
	optOuts: number;
	/** Statuses that named nobody usable: counted, written against no contact. */
	unattributed: number;
	deliveryRate: number | null;
	readRate: number | null;
	optOutRate: number | null;
	failuresByCode: Array<{ code: number; count: number; stage: 'send' | 'delivery'; meaning: string }>;
	notSentByReason: Record<string, number>;
	variants: Record<string, Record<string, number>>;
	/** Per UTC hour: sent, delivered, read, deliveryFailed, optOut. */
	timeline: Array<{ hour: string } & Record<string, number | string>>;
	/**
	 * What Meta bills, from the `pricing` object of the statuses (each message once): messages billed by
	 * pricing category and by destination country, free ones by type. Counts, not money: no rates here.
	 */
	billing: {
		billed: number;
		billedByCategory: Record<string, number>;
		billedByCountry: Record<string, Record<string, number>>;
		free: Record<string, number>;
	};
	/** The billed messages priced with the operator's rate card (Campaign Control's Rate Card), when given. */
	cost?: CampaignCost;
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

export function campaignReport(campaignId: string, counters: Record<string, number>): CampaignReport {
	const read = readCounters(counters);
	const get = read.total;
	const failuresByCode = read.failuresByCode
		.map(({ stage, code, count }) => ({ code, count, stage, meaning: classifyMetaError(code).meaning }))
		.sort((a, b) => b.count - a.count);
	const sent = get('sent');
	const delivered = get('delivered');
	const deliveryFailed = get('deliveryFailed');
	return {
		campaignId,
		sent,
		failedAtSend: get('failed'),
		notSent: get('notSent'),
		delivered,
		read: get('read'),
		deliveryFailed,
		optOuts: get('optOut'),
		unattributed: get('unattributed'),
		deliveryRate: ratio(delivered, delivered + deliveryFailed),
		readRate: ratio(get('read'), delivered),
		optOutRate: ratio(get('optOut'), sent),
		failuresByCode,
		notSentByReason: read.notSentByReason,
		variants: read.variants,
		timeline: Object.keys(read.hours)
			.sort()
			.map((hour) => ({ hour: `${hour}:00Z`, ...read.hours[hour] })),
		billing: {
			billed: Object.values(read.pricing.billed).reduce((a, b) => a + b, 0),
			billedByCategory: read.pricing.billed,
			billedByCountry: read.pricing.billedByCountry,
			free: read.pricing.free,
		},
	};
}

const escape = (text: string) =>
	text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The funnel as an SVG image, to post to Slack or attach to an email. */
export function funnelSvg(report: CampaignReport): string {
	const bars: Array<[string, number, string]> = [
		['Sent', report.sent, '#128C7E'],
		['Delivered', report.delivered, '#25D366'],
		['Read', report.read, '#34B7F1'],
		['Failed', report.failedAtSend + report.deliveryFailed, '#E0245E'],
		['Opted out', report.optOuts, '#FFB020'],
	];
	const max = Math.max(1, ...bars.map(([, value]) => value));
	const rows = bars
		.map(([label, value, colour], i) => {
			const y = 50 + i * 44;
			const width = Math.round((value / max) * 420);
			return `<text x="20" y="${y + 22}" font-size="15">${label}</text><rect x="120" y="${y}" width="${width}" height="30" rx="4" fill="${colour}"/><text x="${128 + width}" y="${y + 21}" font-size="14">${value.toLocaleString('en')}</text>`;
		})
		.join('');
	const rate = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(1)} %`);
	return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="300" font-family="Arial, Helvetica, sans-serif"><rect width="640" height="300" fill="#fff"/><text x="20" y="30" font-size="18" font-weight="bold">Campaign ${escape(report.campaignId)}</text>${rows}<text x="20" y="285" font-size="13">Delivery rate ${rate(report.deliveryRate)} · read rate ${rate(report.readRate)} · opt-out rate ${rate(report.optOutRate)}${costText(report)}</text></svg>`;
}

/** The cost line of the chart: billed messages, and their cost when a rate card priced them. */
function costText(report: CampaignReport): string {
	if (!report.billing.billed) return '';
	const cost = report.cost;
	if (!cost) return ` · billed ${report.billing.billed.toLocaleString('en')}`;
	const unpriced = cost.unpriced.reduce((sum, u) => sum + u.messages, 0);
	return ` · cost ${cost.total.toLocaleString('en', { maximumFractionDigits: 4 })} ${escape(cost.currency)}${unpriced ? ` (${unpriced.toLocaleString('en')} unpriced)` : ''}`;
}

/** Sent, delivered and read per UTC hour as an SVG line chart (the report's `timeline`), beside the funnel. */
export function timelineSvg(report: CampaignReport): string {
	const series: Array<[string, string]> = [
		['sent', '#128C7E'],
		['delivered', '#25D366'],
		['read', '#34B7F1'],
	];
	const hours = report.timeline;
	const value = (hour: Record<string, number | string>, name: string) => Number(hour[name] ?? 0);
	const max = Math.max(1, ...hours.flatMap((hour) => series.map(([name]) => value(hour, name))));
	const [left, top, width, height] = [60, 50, 540, 190];
	const x = (i: number) => left + (hours.length > 1 ? (i / (hours.length - 1)) * width : width / 2);
	const y = (n: number) => top + height - (n / max) * height;
	const lines = series
		.map(([name, colour], s) => {
			const points = hours.map((hour, i) => `${x(i).toFixed(1)},${y(value(hour, name)).toFixed(1)}`).join(' ');
			const dots = hours
				.map(
					(hour, i) =>
						`<circle cx="${x(i).toFixed(1)}" cy="${y(value(hour, name)).toFixed(1)}" r="3" fill="${colour}"/>`,
				)
				.join('');
			return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>${dots}<text x="${left + s * 110}" y="${top - 12}" font-size="13" fill="${colour}">${name}</text>`;
		})
		.join('');
	const labels = hours
		.map((hour, i) =>
			i === 0 || i === hours.length - 1 || hours.length <= 8
				? `<text x="${x(i).toFixed(1)}" y="${top + height + 18}" font-size="11" text-anchor="middle">${escape(String(hour.hour).slice(5, 13))}h</text>`
				: '',
		)
		.join('');
	return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="290" font-family="Arial, Helvetica, sans-serif"><rect width="640" height="290" fill="#fff"/><text x="20" y="24" font-size="16" font-weight="bold">Campaign ${escape(report.campaignId)} per hour (UTC)</text><line x1="${left}" y1="${top + height}" x2="${left + width}" y2="${top + height}" stroke="#999"/><text x="${left - 8}" y="${top + 4}" font-size="11" text-anchor="end">${max.toLocaleString('en')}</text><text x="${left - 8}" y="${top + height}" font-size="11" text-anchor="end">0</text>${lines}${labels}</svg>`;
}
