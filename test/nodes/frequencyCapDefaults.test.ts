import type { INodeProperties } from 'n8n-workflow';

import { frequencyCapProperties } from '../../nodes/WhatsAppFrequencyCap/description';

/**
 * n8n saves a parameter left at its default as nothing and fills the default in at run time: a changed
 * default changes the behaviour of every saved version-1 workflow. If this test fails, do not update it:
 * add a node version with the new default and keep these for version 1.
 */
describe('WhatsApp Frequency Cap version 1: behaviour defaults are frozen', () => {
	const byName = (properties: INodeProperties[], name: string) => properties.find((p) => p.name === name)!;

	test.each([
		['category', 'marketing'],
		['contactRules', { rule: [{ category: 'marketing', maxCount: 2, windowHours: 24, minGapHours: 6 }] }],
		['quietHours', false],
		['quietStart', '21:00'],
		['quietEnd', '09:00'],
		['quietCategories', ['marketing']],
	])('%s defaults to %j', (name, expected) => {
		expect(byName(frequencyCapProperties, name).default).toEqual(expected);
	});

	test('a rule left as it is (saved as {}) fills in 2 per 24 h, 6 h apart, for marketing', () => {
		const rule = (byName(frequencyCapProperties, 'contactRules').options as Array<{ values: INodeProperties[] }>)[0]
			.values;
		expect(Object.fromEntries(rule.map((field) => [field.name, field.default]))).toEqual({
			category: 'marketing',
			maxCount: 2,
			windowHours: 24,
			minGapHours: 6,
		});
	});

	test('the unique-contacts budget, when added, reads the tier from the WhatsApp API', () => {
		const budgets = byName(frequencyCapProperties, 'budgets').options as INodeProperties[];
		expect(byName(budgets, 'uniqueContactsTier').default).toBe('fromApi');
	});
});
