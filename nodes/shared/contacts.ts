import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { checkRecipient } from '../core/contactIdentity';
import { NUMBER_TYPES, toCountryCode } from '../core/phoneNumbers';
import type { ComplianceStore } from '../store/types';
import { readItemValue } from './itemValues';

/**
 * An item's contact: its store key, the identifier Template Send addresses (E.164 number or BSUID) and
 * its country, or why its identifier is unusable.
 */
export type Contact =
	| { key: string; recipient: string; identifierType: 'phone' | 'bsuid'; country?: string }
	| { invalid: string; input: string };

/**
 * Reads the `phone` (or another named) parameter and the optional `defaultCountry` of every item and keys the identifiers for
 * the store, with the same normalisation as the Number Validation node. A BSUID is keyed as the person
 * Meta paired it with (store.identities), else as itself. A fixed default country that is not an ISO
 * code is a configuration error; everything else is a per-item `invalid` reason.
 */
export async function readContacts(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	store: ComplianceStore,
	parameter = 'phone',
	/** The input index of `items[0]`, when reading a slice of the input. */
	firstItemIndex = 0,
): Promise<Contact[]> {
	const node = context.getNode();
	const countryText = String(node.parameters.defaultCountry ?? '');
	const perItem = countryText.startsWith('=');
	const fixed = perItem ? undefined : toCountryCode(countryText);
	if (!perItem && countryText.trim() && !fixed) {
		throw new NodeOperationError(node, `"${countryText}" is not a two-letter ISO country code`);
	}
	const contacts: Contact[] = items.map((item, i) => {
		const itemIndex = firstItemIndex + i;
		const value = readItemValue(context, parameter, itemIndex, item);
		const country = perItem ? toCountryCode(readItemValue(context, 'defaultCountry', itemIndex, item)) : fixed;
		// Consent and caps concern any number the person gave, whatever its type.
		const checked = checkRecipient(value, country, NUMBER_TYPES);
		if (!checked.valid) return { invalid: checked.reason, input: checked.input };
		const { recipient, identifierType } = checked;
		return { key: store.contactKey(recipient), recipient, identifierType, country: checked.country };
	});
	const bsuids = contacts.filter(
		(c): c is Extract<Contact, { key: string }> => 'key' in c && c.identifierType === 'bsuid',
	);
	if (bsuids.length) {
		const resolved = await store.identities.resolve(bsuids.map((c) => c.key));
		bsuids.forEach((contact, i) => (contact.key = resolved[i]));
	}
	return contacts;
}

/** The contact's number, read by readContacts (same normalisation as the Number Validation node). */
export const contactProperties: INodeProperties[] = [
	{
		displayName: 'Phone Number or BSUID',
		name: 'phone',
		type: 'string',
		default: '={{ $json.whatsapp.recipient ?? $json.whatsapp.e164 }}',
		required: true,
		description:
			'The contact’s number, or their business-scoped user ID (e.g. US.13491208655302741918) when they withhold their number; by default what the WhatsApp Number Validation node added. Other number formats are normalised.',
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
