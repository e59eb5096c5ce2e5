import { callbackData, parseCallbackData } from '../../nodes/core/callbackData';

describe('callback data', () => {
	test.each([
		['spring', 'A', 'wac1|spring|A', { campaignId: 'spring', variant: 'A' }],
		['wf:1|x', 'B', 'wac1|wf:1|x|B', { campaignId: 'wf:1|x', variant: 'B' }],
	])('%s / %s is written %s and read back', (campaignId, variant, written, read) => {
		expect(callbackData(campaignId, variant)).toBe(written);
		expect(parseCallbackData(written)).toEqual(read);
	});

	test('never longer than Meta’s 512 characters, and the variant survives the cut', () => {
		const written = callbackData('c'.repeat(600), 'B');
		expect(written).toHaveLength(512);
		expect(parseCallbackData(written).variant).toBe('B');
	});

	test.each([
		// pywa's test data: another system's tracker on the same number (tests/data/updates/message_status.json).
		['some data', {}],
		['order-1234', {}],
		['foo|bar', {}],
		// Tags written before the prefix: campaign|A or campaign|B.
		['spring-2026|A', { campaignId: 'spring-2026', variant: 'A' }],
		['wf:7:flash|B', { campaignId: 'wf:7:flash', variant: 'B' }],
	])('%p attributes %p', (data, expected) => expect(parseCallbackData(data)).toEqual(expected));

	test.each([[undefined], [''], [42]])('nothing to read from %p', (data) =>
		expect(parseCallbackData(data)).toEqual({}),
	);
});
