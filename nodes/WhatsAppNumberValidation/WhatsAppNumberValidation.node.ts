import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { isRecentlyUndeliverable, UNDELIVERABLE_WINDOW_DAYS } from '../core/consent';
import { checkRecipient, type RecipientCheck } from '../core/contactIdentity';
import { NUMBER_TYPES, toCountryCode, type NumberType } from '../core/phoneNumbers';
import { judgeShare, type GuardAction } from '../core/runGuards';
import { DAY_MS } from '../core/time';
import { readItemValue } from '../shared/itemValues';
import { getComplianceStore, storeProperty, whatsAppComplianceRedisTest } from '../store/storeParameter';

const TYPE_LABELS: Record<NumberType, string> = {
	MOBILE: 'Mobile',
	FIXED_LINE_OR_MOBILE: 'Fixed Line or Mobile (US, CA, MX…)',
	FIXED_LINE: 'Fixed Line',
	TOLL_FREE: 'Toll-Free',
	PREMIUM_RATE: 'Premium Rate',
	SHARED_COST: 'Shared Cost',
	VOIP: 'VoIP',
	PERSONAL_NUMBER: 'Personal Number',
	PAGER: 'Pager',
	UAN: 'UAN (Universal Access Number)',
	VOICEMAIL: 'Voicemail',
	UNKNOWN: 'Unknown Type',
};

export class WhatsAppNumberValidation implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Number Validation',
		name: 'whatsAppNumberValidation',
		icon: 'file:whatsAppNumberValidation.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{"Default country: " + ($parameter["defaultCountry"] || "none")}}',
		description:
			'Normalise CRM phone numbers to WhatsApp’s international format and set aside the ones that cannot receive messages',
		defaults: { name: 'WhatsApp Number Validation' },
		inputs: ['main'],
		// Two outputs, like n8n's own If node; the rule predates multi-output regular nodes.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: ['main', 'main'],
		outputNames: ['Valid', 'Invalid'],
		// Literal, not the shared constant: eslint-plugin-n8n-nodes-base only reads object literals here.
		credentials: [
			{
				name: 'whatsAppComplianceRedisApi',
				required: true,
				displayOptions: { show: { store: ['redis'] } },
				testedBy: 'whatsAppComplianceRedisTest',
			},
		],
		properties: [
			{
				displayName: 'Phone Number',
				name: 'phone',
				type: 'string',
				default: '={{ $json.phone }}',
				required: true,
				description:
					'The number as the CRM or sheet has it: spaces, brackets, 00 prefixes and national formats are fine. A business-scoped user ID (BSUID, e.g. US.13491208655302741918) of a person who withholds their number is valid too.',
			},
			{
				displayName: 'Default Country',
				name: 'defaultCountry',
				type: 'string',
				default: '',
				placeholder: 'FR',
				description:
					'Two-letter ISO country code (FR, DE, US…) for numbers written without a country code. Can be set per item with an expression that reads the CRM’s country field.',
			},
			{
				displayName: 'Allowed Number Types',
				name: 'allowedTypes',
				type: 'multiOptions',
				options: NUMBER_TYPES.map((type) => ({ name: TYPE_LABELS[type], value: type })),
				default: ['MOBILE', 'FIXED_LINE_OR_MOBILE'],
				description: 'Numbers of other types go to Invalid with reason TYPE_NOT_ALLOWED. WhatsApp runs on mobiles.',
			},
			{
				displayName: 'Put Result in Field',
				name: 'outputField',
				type: 'string',
				default: 'whatsapp',
				required: true,
				description:
					'The field added to each item: { valid, identifierType: "phone", recipient, e164, waId, country, nationalNumber, type }, { valid, identifierType: "bsuid", recipient, bsuid, parent, country } or { valid: false, reason, input }',
			},
			{
				displayName: 'Exclude Numbers Known to Be Undeliverable',
				name: 'excludeUndeliverable',
				type: 'boolean',
				default: true,
				description:
					'Whether to send numbers that recently failed with Meta error 131026 (not on WhatsApp), as recorded by the WhatsApp Delivery Monitor, to Invalid with reason NOT_ON_WHATSAPP',
			},
			{
				...storeProperty,
				displayOptions: { show: { excludeUndeliverable: [true] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Keep Duplicates',
						name: 'keepDuplicates',
						type: 'boolean',
						default: false,
						description:
							'Whether to let a number seen earlier in the same run through again. Off: the second and later go to Invalid with reason DUPLICATE.',
					},
					{
						displayName: 'List Quality Check',
						name: 'listQualityAction',
						type: 'options',
						options: [
							{
								name: 'Stop the Workflow',
								value: 'stop',
								description: 'Fail the run with the share of invalid numbers and the top reasons',
							},
							{
								name: 'Continue With a Warning',
								value: 'warn',
								description: 'Add listQualityWarning to every item and go on',
							},
							{ name: 'Off', value: 'off' },
						],
						default: 'stop',
						description:
							'What to do when too many numbers in the run are invalid (Meta may freeze a sender whose lists are bad)',
					},
					{
						displayName: 'Maximum Invalid Share (%)',
						name: 'invalidThreshold',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
						default: 5,
						description: 'Share of invalid numbers (duplicates not counted) above which the list quality check acts',
					},
					{
						displayName: 'Minimum Run Size for the Check',
						name: 'minimumRunSize',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 20,
						description: 'Runs with fewer items are never judged',
					},
					{
						displayName: 'Undeliverable Within (Days)',
						name: 'undeliverableDays',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: UNDELIVERABLE_WINDOW_DAYS,
						description: 'How recent a 131026 failure must be to exclude the number (people do install WhatsApp later)',
					},
				],
			},
		],
	};

	methods = { credentialTest: { whatsAppComplianceRedisTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const node = this.getNode();
		const outputField = (this.getNodeParameter('outputField', 0) as string).trim();
		if (!outputField) throw new NodeOperationError(node, 'Enter a field name in "Put Result in Field"');
		const allowedTypes = new Set(this.getNodeParameter('allowedTypes', 0) as NumberType[]);
		if (allowedTypes.size === 0) throw new NodeOperationError(node, 'Choose at least one allowed number type');
		const options = this.getNodeParameter('options', 0, {}) as {
			keepDuplicates?: boolean;
			undeliverableDays?: number;
			listQualityAction?: GuardAction;
			invalidThreshold?: number;
			minimumRunSize?: number;
		};

		// A fixed default country is configuration: a wrong one is the operator's to fix before any item
		// is judged. One set by expression comes from the item's data: a wrong one is that item's problem.
		const countryIsPerItem = String(node.parameters.defaultCountry ?? '').startsWith('=');
		const fixedCountryText = countryIsPerItem ? '' : String(node.parameters.defaultCountry ?? '').trim();
		const fixedCountry = toCountryCode(fixedCountryText);
		if (fixedCountryText && !fixedCountry) {
			throw new NodeOperationError(node, `"${fixedCountryText}" is not a two-letter ISO country code`, {
				description:
					'Use a code such as FR, DE, GB, US or BR, or leave Default Country empty for numbers that all start with +',
			});
		}

		const results: IDataObject[] = new Array(items.length);
		const inputs: unknown[] = new Array(items.length);
		const firstSeen = new Map<string, number>();
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			let check: RecipientCheck;
			const phone = () => readItemValue(this, 'phone', itemIndex, items[itemIndex]);
			try {
				const country = countryIsPerItem
					? toCountryCode(readItemValue(this, 'defaultCountry', itemIndex, items[itemIndex]))
					: fixedCountry;
				inputs[itemIndex] = phone();
				check = checkRecipient(inputs[itemIndex], country, allowedTypes);
			} catch (error) {
				if (!this.continueOnFail()) throw new NodeOperationError(node, error as Error, { itemIndex });
				results[itemIndex] = { valid: false, reason: 'ERROR', error: (error as Error).message };
				continue;
			}
			if (check.valid && !options.keepDuplicates) {
				const earlier = firstSeen.get(check.recipient);
				if (earlier !== undefined) {
					results[itemIndex] = {
						valid: false,
						reason: 'DUPLICATE',
						input: String(inputs[itemIndex] ?? ''),
						recipient: check.recipient,
						...(check.identifierType === 'phone' ? { e164: check.e164 } : {}),
						duplicateOfItem: earlier,
					};
					continue;
				}
				firstSeen.set(check.recipient, itemIndex);
			}
			results[itemIndex] = check as unknown as IDataObject;
		}

		if (this.getNodeParameter('excludeUndeliverable', 0, true) as boolean) {
			await excludeUndeliverable(
				this,
				results,
				inputs,
				(options.undeliverableDays ?? UNDELIVERABLE_WINDOW_DAYS) * DAY_MS,
			);
		}

		const valid: INodeExecutionData[] = [];
		const invalid: INodeExecutionData[] = [];
		const invalidReasons: string[] = [];
		results.forEach((result, itemIndex) => {
			if (result.valid) {
				valid.push(output(items[itemIndex], itemIndex, outputField, result));
			} else {
				if (result.reason !== 'DUPLICATE' && result.reason !== 'ERROR') invalidReasons.push(result.reason as string);
				invalid.push(output(items[itemIndex], itemIndex, outputField, result));
			}
		});

		const action = options.listQualityAction ?? 'stop';
		if (action !== 'off') {
			const verdict = judgeShare(invalidReasons, items.length, 'invalid numbers', {
				thresholdPercent: options.invalidThreshold ?? 5,
				minimumRunSize: options.minimumRunSize ?? 20,
			});
			if (verdict.exceeded && action === 'stop') {
				throw new NodeOperationError(node, `List quality check: ${verdict.summary}`, {
					description:
						'Sending to a list with many invalid numbers hurts the WhatsApp sender’s quality. Clean the list, raise "Maximum Invalid Share", or set "List Quality Check" to continue with a warning.',
				});
			}
			if (verdict.exceeded) {
				for (const item of [...valid, ...invalid])
					(item.json[outputField] as IDataObject).listQualityWarning = verdict.summary;
				this.logger.warn(`WhatsApp Number Validation: ${verdict.summary}`);
			}
		}
		return [valid, invalid];
	}
}

/** Moves valid numbers the Delivery Monitor saw fail with 131026 within `withinMs` to NOT_ON_WHATSAPP. */
async function excludeUndeliverable(
	context: IExecuteFunctions,
	results: IDataObject[],
	inputs: unknown[],
	withinMs: number,
) {
	const candidates = results.flatMap((result, index) => (result.valid ? [index] : []));
	if (!candidates.length) return;
	const store = await getComplianceStore(context);
	const keys = await store.identities.resolve(
		candidates.map((index) => store.contactKey(results[index].recipient as string)),
	);
	const states = await store.ledger.contactStates(keys);
	const now = Date.now();
	candidates.forEach((index, i) => {
		const state = states.get(keys[i]);
		if (isRecentlyUndeliverable(state, withinMs, now)) {
			const undeliverableAt = state!.undeliverableAt!;
			const { e164, recipient } = results[index];
			const input = typeof inputs[index] === 'string' ? inputs[index] : String(inputs[index]);
			results[index] = {
				valid: false,
				reason: 'NOT_ON_WHATSAPP',
				input,
				recipient,
				...(e164 ? { e164 } : {}),
				undeliverableSince: new Date(undeliverableAt).toISOString(),
			};
		}
	});
}

function output(item: INodeExecutionData, itemIndex: number, field: string, result: IDataObject): INodeExecutionData {
	return { json: { ...item.json, [field]: result }, pairedItem: { item: itemIndex } };
}
