import { callbackData, parseCallbackData } from '../../nodes/core/callbackData';

/** A contact key as the store makes them (HMAC-SHA256, hex). */
const KEY = 'a3f1'.repeat(16);

describe('callback data', () => {
	test.each([
		['spring', 'A', `wac2|A|${KEY}|spring`, { campaignId: 'spring', variant: 'A', sendKey: KEY }],
		['wf:1|x', 'B', `wac2|B|${KEY}|wf:1|x`, { campaignId: 'wf:1|x', variant: 'B', sendKey: KEY }],
	])('%s / %s is written %s and read back', (campaignId, variant, written, read) => {
		expect(callbackData(campaignId, variant, KEY)).toBe(written);
		expect(parseCallbackData(written)).toEqual(read);
	});

	test('never longer than Meta’s 512 characters; the cut takes the end of the campaign, never the send key', () => {
		const written = callbackData('c'.repeat(600), 'B', KEY);
		expect(written).toHaveLength(512);
		expect(parseCallbackData(written)).toMatchObject({ variant: 'B', sendKey: KEY, campaignId: 'c'.repeat(440) });
	});

	test.each([
		// pywa's test data: another system's tracker on the same number (tests/data/updates/message_status.json).
		['some data', {}],
		['order-1234', {}],
		['foo|bar', {}],
		// Ours in form but not a key, or with a part missing: attributes nothing.
		[`wac2|A|not-a-key|spring`, {}],
		[`wac2|A|${KEY}|`, {}],
		[`wac2||${KEY}|spring`, {}],
		// Tags of version 1 (wac1|campaign|variant), still arriving for messages sent before.
		['wac1|spring|A', { campaignId: 'spring', variant: 'A' }],
		['wac1|wf:1|x|B', { campaignId: 'wf:1|x', variant: 'B' }],
		// Tags written before the prefix: campaign|A or campaign|B.
		['spring-2026|A', { campaignId: 'spring-2026', variant: 'A' }],
		['wf:7:flash|B', { campaignId: 'wf:7:flash', variant: 'B' }],
	])('%p attributes %p', (data, expected) => expect(parseCallbackData(data)).toEqual(expected));

	test.each([[undefined], [''], [42]])('nothing to read from %p', (data) =>
		expect(parseCallbackData(data)).toEqual({}),
	);
});
