import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { checkPhoneNumber, NUMBER_TYPES, toCountryCode } from '../core/phoneNumbers';
import type { ComplianceStore } from '../store/types';
import { readItemValue } from './itemValues';

/** An item's contact: its store key (HMAC of the E.164 number), or why its number is unusable. */
export type Contact = { key: string; e164: string; country?: string } | { invalid: string; input: string };

/**
 * Reads the `phone` (or another named) parameter and the optional `defaultCountry` of every item and keys the numbers for
 * the store, with the same normalisation as the Number Validation node. A fixed default country that
 * is not an ISO code is a configuration error; everything else is a per-item `invalid` reason.
 */
export function readContacts(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	store: ComplianceStore,
	parameter = 'phone',
): Contact[] {
	const node = context.getNode();
	const countryText = String(node.parameters.defaultCountry ?? '');
	const perItem = countryText.startsWith('=');
	const fixed = perItem ? undefined : toCountryCode(countryText);
	if (!perItem && countryText.trim() && !fixed) {
		throw new NodeOperationError(node, `"${countryText}" is not a two-letter ISO country code`);
	}
	return items.map((item, itemIndex) => {
		const value = readItemValue(context, parameter, itemIndex, item);
		const country = perItem ? toCountryCode(readItemValue(context, 'defaultCountry', itemIndex, item)) : fixed;
		// Consent and caps concern any number the person gave, whatever its type.
		const number = checkPhoneNumber(value, country, NUMBER_TYPES);
		if (!number.valid) return { invalid: number.reason, input: number.input };
		return { key: store.contactKey(number.e164), e164: number.e164, country: number.country };
	});
}

/** The contact's number, read by readContacts (same normalisation as the Number Validation node). */
export const contactProperties: INodeProperties[] = [
	{
		displayName: 'Phone Number',
		name: 'phone',
		type: 'string',
		default: '={{ $json.whatsapp.e164 }}',
		required: true,
		description:
			'The contact’s number; by default the E.164 number the WhatsApp Number Validation node added. Other formats are normalised.',
	},
	{
		displayName: 'Default Country',
		name: 'defaultCountry',
		type: 'string',
		default: '',
		placeholder: 'FR',
		description: 'Two-letter ISO country code for numbers written without a country code',
	},
];
