import type { IDataObject } from 'n8n-workflow';

import { PHONE_CASES } from '../fixtures/phoneFormats';
import { readWorkflow, runWorkflow } from '../harness/WorkflowHarness';

const WORKFLOW = 'number-validation.json';
const NODE = 'Validate numbers';

const validation = (json: IDataObject) => json.whatsapp as IDataObject;

describe('WhatsApp Number Validation node (workflow JSON through n8n-core)', () => {
	test(`normalises ${PHONE_CASES.length} real-world formats across ${new Set(PHONE_CASES.filter((c) => /^[A-Z]{2} /.test(c.label)).map((c) => c.label.slice(0, 2))).size} countries, each to its expected output`, async () => {
		const items = PHONE_CASES.map((c, index) => ({
			index,
			label: c.label,
			phone: c.phone as never,
			country: c.country as never,
		}));
		// Several formats of one number are in the table on purpose: keep them all to check each.
		const result = await runWorkflow(WORKFLOW, {
			items,
			parameters: { [NODE]: { options: { keepDuplicates: true, listQualityAction: 'off' } } },
		});
		expect(result.status).toBe('success');
		const [valid, invalid] = result.outputs(NODE);
		expect(valid.length + invalid.length).toBe(PHONE_CASES.length);

		const byIndex = new Map<number, { output: 'valid' | 'invalid'; json: IDataObject }>();
		for (const item of valid) byIndex.set(item.json.index as number, { output: 'valid', json: item.json });
		for (const item of invalid) byIndex.set(item.json.index as number, { output: 'invalid', json: item.json });

		const mismatches: string[] = [];
		PHONE_CASES.forEach((expected, index) => {
			const actual = byIndex.get(index);
			const got = actual ? validation(actual.json) : undefined;
			const want = expected.valid
				? { output: 'valid', valid: true, e164: expected.e164, waId: expected.e164!.slice(1), type: expected.type }
				: { output: 'invalid', valid: false, reason: expected.reason };
			const have = got?.valid
				? { output: actual!.output, valid: true, e164: got.e164, waId: got.waId, type: got.type }
				: { output: actual?.output, valid: false, reason: got?.reason };
			if (JSON.stringify(want) !== JSON.stringify(have))
				mismatches.push(`${expected.label}: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`);
		});
		expect(mismatches).toEqual([]);
		expect(PHONE_CASES.length).toBeGreaterThanOrEqual(60);
	});

	test('every output item keeps the input fields, adds the result and is paired with its input item', async () => {
		const items = [
			{ id: 'c1', phone: '06 12 34 56 78', country: 'FR', name: 'Camille' },
			{ id: 'c2', phone: 'n/a', country: 'FR', name: 'Luc' },
		];
		const result = await runWorkflow(WORKFLOW, { items });
		const [valid, invalid] = result.outputs(NODE);
		expect(valid).toEqual([
			{
				json: {
					...items[0],
					whatsapp: {
						valid: true,
						e164: '+33612345678',
						waId: '33612345678',
						country: 'FR',
						nationalNumber: '612345678',
						type: 'MOBILE',
						identifierType: 'phone',
						recipient: '+33612345678',
					},
				},
				pairedItem: { item: 0 },
			},
		]);
		expect(invalid).toEqual([
			{
				json: { ...items[1], whatsapp: { valid: false, reason: 'NOT_A_NUMBER', input: 'n/a' } },
				pairedItem: { item: 1 },
			},
		]);
	});

	test('the second and later items with the same number go to Invalid as DUPLICATE, pointing at the first', async () => {
		const items = [
			{ phone: '+33 6 12 34 56 78' },
			{ phone: '06 12 34 56 78', country: 'FR' },
			{ phone: '0033612345678', country: 'FR' },
			{ phone: '+33 6 99 99 99 99' },
		];
		const result = await runWorkflow(WORKFLOW, { items });
		const [valid, invalid] = result.outputs(NODE);
		expect(valid.map((i) => validation(i.json).e164)).toEqual(['+33612345678', '+33699999999']);
		expect(invalid.map((i) => validation(i.json))).toEqual([
			{
				valid: false,
				reason: 'DUPLICATE',
				input: '06 12 34 56 78',
				recipient: '+33612345678',
				e164: '+33612345678',
				duplicateOfItem: 0,
			},
			{
				valid: false,
				reason: 'DUPLICATE',
				input: '0033612345678',
				recipient: '+33612345678',
				e164: '+33612345678',
				duplicateOfItem: 0,
			},
		]);
		expect(invalid.map((i) => i.pairedItem)).toEqual([{ item: 1 }, { item: 2 }]);
	});

	test('a business-scoped user ID is a valid recipient of its own type, passed through as Meta wrote it', async () => {
		// BSUIDs as Meta's examples write them (whatsapp-api-js test/payloads.test.js; 360dialog's BSUID page).
		const items = [
			{ phone: 'US.13491208655302741918' },
			{ phone: ' BR.1502576394655843 ' },
			{ phone: 'US.ENT.506847293015824' },
			{ phone: 'US.13491208655302741918' },
			{ phone: 'us.13491208655302741918' },
		];
		const result = await runWorkflow(WORKFLOW, { items });
		const [valid, invalid] = result.outputs(NODE);
		expect(valid.map((i) => validation(i.json))).toEqual([
			{
				valid: true,
				identifierType: 'bsuid',
				recipient: 'US.13491208655302741918',
				bsuid: 'US.13491208655302741918',
				parent: false,
				country: 'US',
			},
			expect.objectContaining({ identifierType: 'bsuid', recipient: 'BR.1502576394655843', country: 'BR' }),
			expect.objectContaining({ identifierType: 'bsuid', recipient: 'US.ENT.506847293015824', parent: true }),
		]);
		expect(invalid.map((i) => validation(i.json))).toEqual([
			expect.objectContaining({ reason: 'DUPLICATE', recipient: 'US.13491208655302741918', duplicateOfItem: 0 }),
			// Lower-case is not Meta's form: read as a number, and not a valid one.
			expect.objectContaining({ valid: false, reason: expect.not.stringMatching(/DUPLICATE/) }),
		]);
	});

	test('"Keep Duplicates" lets repeated numbers through', async () => {
		const items = [{ phone: '+33612345678' }, { phone: '+33 6 12 34 56 78' }];
		const result = await runWorkflow(WORKFLOW, {
			items,
			parameters: { [NODE]: { options: { keepDuplicates: true, listQualityAction: 'off' } } },
		});
		expect(result.outputs(NODE)[0]).toHaveLength(2);
	});

	describe('list-quality guard', () => {
		const list = (total: number, invalidCount: number) =>
			Array.from({ length: total }, (_, i) =>
				i < invalidCount ? { phone: i % 2 ? 'n/a' : '12', country: 'FR' } : { phone: `+3361234${String(5000 + i)}` },
			);

		test('stops the workflow when over 5 % of a 20+ item run is invalid, stating the share and the top reasons', async () => {
			const result = await runWorkflow(WORKFLOW, { items: list(40, 3), parameters: { [NODE]: { options: {} } } });
			expect(result.status).toBe('error');
			expect(result.error?.message).toBe(
				'List quality check: 7.5 % of the 40 items are invalid numbers (threshold 5 %): TOO_SHORT 2, NOT_A_NUMBER 1',
			);
			expect(result.error?.node).toBe(NODE);
		});

		test('exactly at the threshold (1 of 20 = 5 %) the run goes on', async () => {
			const result = await runWorkflow(WORKFLOW, { items: list(20, 1), parameters: { [NODE]: { options: {} } } });
			expect(result.status).toBe('success');
		});

		test('runs smaller than the minimum size are not judged', async () => {
			const result = await runWorkflow(WORKFLOW, { items: list(19, 10), parameters: { [NODE]: { options: {} } } });
			expect(result.status).toBe('success');
			expect(result.outputs(NODE)[1]).toHaveLength(10);
		});

		test('"continue with a warning" adds listQualityWarning to every item and sends nothing to an error', async () => {
			const result = await runWorkflow(WORKFLOW, {
				items: list(40, 4),
				parameters: { [NODE]: { options: { listQualityAction: 'warn' } } },
			});
			expect(result.status).toBe('success');
			const [valid, invalid] = result.outputs(NODE);
			expect(valid).toHaveLength(36);
			expect(invalid).toHaveLength(4);
			for (const item of [...valid, ...invalid]) {
				expect(validation(item.json).listQualityWarning).toBe(
					'10.0 % of the 40 items are invalid numbers (threshold 5 %): NOT_A_NUMBER 2, TOO_SHORT 2',
				);
			}
		});

		test('duplicates do not count as invalid numbers', async () => {
			const items = Array.from({ length: 30 }, () => ({ phone: '+33612345678' }));
			const result = await runWorkflow(WORKFLOW, { items, parameters: { [NODE]: { options: {} } } });
			expect(result.status).toBe('success');
			expect(result.outputs(NODE)[1]).toHaveLength(29);
		});

		test('a custom threshold applies', async () => {
			const result = await runWorkflow(WORKFLOW, {
				items: list(40, 3),
				parameters: { [NODE]: { options: { invalidThreshold: 10 } } },
			});
			expect(result.status).toBe('success');
		});
	});

	test('a fixed default country that is not an ISO code is a configuration error naming the value', async () => {
		const result = await runWorkflow(WORKFLOW, {
			items: [{ phone: '0612345678' }],
			parameters: { [NODE]: { defaultCountry: 'France' } },
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toBe('"France" is not a two-letter ISO country code');
	});

	test('a fixed default country applies to every item', async () => {
		const result = await runWorkflow(WORKFLOW, {
			items: [{ phone: '0612345678' }, { phone: '0151 23456789' }],
			parameters: { [NODE]: { defaultCountry: 'fr' } },
		});
		const [valid, invalid] = result.outputs(NODE);
		expect(valid.map((i) => validation(i.json).e164)).toEqual(['+33612345678']);
		expect(invalid.map((i) => validation(i.json).reason)).toEqual(['TOO_LONG']);
	});

	test('reads nested fields and arbitrary expressions the same way n8n does', async () => {
		const items = [{ contact: { mobile: ' 06 12 34 56 78 ' } }];
		const nested = await runWorkflow(WORKFLOW, {
			items,
			parameters: { [NODE]: { phone: '={{ $json.contact.mobile }}', defaultCountry: 'FR' } },
		});
		const computed = await runWorkflow(WORKFLOW, {
			items,
			parameters: { [NODE]: { phone: '={{ "+33" + $json.contact.mobile.trim().slice(1) }}', defaultCountry: '' } },
		});
		expect(validation(nested.outputs(NODE)[0][0].json).e164).toBe('+33612345678');
		expect(validation(computed.outputs(NODE)[0][0].json).e164).toBe('+33612345678');
	});

	test('the result goes into the field the operator names, and the input items are not changed', async () => {
		const items = [{ phone: '+33612345678' }];
		const workflow = readWorkflow(WORKFLOW);
		const result = await runWorkflow(workflow, { items, parameters: { [NODE]: { outputField: 'wa' } } });
		expect(result.outputs(NODE)[0][0].json.wa).toMatchObject({ e164: '+33612345678' });
		expect(result.outputs('CRM contacts')[0][0].json).toEqual({ phone: '+33612345678' });
	});

	test('10,000 items pass in one run, each through exactly one output', async () => {
		const items = Array.from({ length: 10_000 }, (_, i) => ({
			i,
			phone: i % 10 === 9 ? `bad-${i}` : `+33 6 ${String(10_000_000 + i).slice(-8)}`,
		}));
		const result = await runWorkflow(WORKFLOW, {
			items,
			parameters: { [NODE]: { options: { listQualityAction: 'off' } } },
		});
		const [valid, invalid] = result.outputs(NODE);
		expect(valid).toHaveLength(9_000);
		expect(invalid).toHaveLength(1_000);
		const seen = new Set([...valid, ...invalid].map((item) => (item.pairedItem as { item: number }).item));
		expect(seen.size).toBe(10_000);
	});
});
