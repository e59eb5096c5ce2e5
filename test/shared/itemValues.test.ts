import type { IExecuteFunctions } from 'n8n-workflow';

import { readItemValue } from '../../nodes/shared/itemValues';

/** A context whose expression engine answers "ENGINE": reads that do not need it never see that. */
const contextWith = (expression: string) =>
	({
		getNode: () => ({ parameters: { phone: expression } }),
		getNodeParameter: () => 'ENGINE',
	}) as unknown as IExecuteFunctions;

describe('readItemValue: plain reads of the item skip the expression engine, with its semantics', () => {
	test.each([
		['a plain path', '={{ $json.whatsapp.e164 }}', { whatsapp: { e164: '+33612345678' } }, '+33612345678'],
		['bracket keys', '={{ $json["whatsapp"]["e164"] }}', { whatsapp: { e164: '+336' } }, '+336'],
		['a missing branch', '={{ $json.whatsapp.e164 }}', {}, undefined],
		[
			'?? takes the first that is set',
			'={{ $json.whatsapp.recipient ?? $json.whatsapp.e164 }}',
			{ whatsapp: { recipient: 'US.1', e164: '+1' } },
			'US.1',
		],
		[
			'?? falls through undefined',
			'={{ $json.whatsapp.recipient ?? $json.whatsapp.e164 }}',
			{ whatsapp: { e164: '+1' } },
			'+1',
		],
		['?? falls through null', '={{ $json.a ?? $json.b }}', { a: null, b: 'b' }, 'b'],
		['?? keeps 0 and empty text', '={{ $json.a ?? $json.b }}', { a: 0, b: 'b' }, 0],
		['?? keeps the last null', '={{ $json.a ?? $json.b }}', { b: null }, null],
		['anything else goes to the engine (||)', '={{ $json.a || $json.b }}', { a: 'a' }, 'ENGINE'],
		['anything else goes to the engine (a call)', '={{ $json.a.trim() }}', { a: 'a' }, 'ENGINE'],
	])('%s', (_, expression, json, expected) => {
		expect(readItemValue(contextWith(expression), 'phone', 0, { json })).toBe(expected);
	});
});
