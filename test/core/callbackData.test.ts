import { callbackData, parseCallbackData } from '../../nodes/core/callbackData';

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
