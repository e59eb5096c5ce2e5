import type { INodeProperties } from 'n8n-workflow';

import { categoryOptions } from '../shared/categoryOptions';
import { contactProperties } from '../shared/contacts';
import { storeProperty } from '../store/storeParameter';

const quiet = { show: { quietHours: [true] } };

/*
 * BEHAVIOUR DEFAULTS. n8n saves a parameter left at its default as nothing (a rule left as it is is
 * saved as `{"rule":[{}]}`) and fills the default in when the workflow runs, so changing a default
 * marked "behaviour default" below silently changes the cap of every saved workflow. Never edit one
 * for version 1: a new default goes with a new node version (as Postgres v2 does with `@version`),
 * and version 1 keeps the old one. test/nodes/frequencyCapDefaults.test.ts pins them. (They stay
 * literals: eslint-plugin-n8n-nodes-base reads defaults only from literals.) Defaults that only shape
 * the panel (placeholders, display options) are not behaviour and may change freely.
 */

export const frequencyCapProperties: INodeProperties[] = [
	storeProperty,
	...contactProperties,
	{
		displayName: 'Message Category',
		name: 'category',
		type: 'options',
		options: categoryOptions,
		default: 'marketing', // behaviour default
		description: 'The category of the template about to be sent; each category has its own per-contact rule',
	},
	{
		displayName: 'Per-Contact Rules',
		name: 'contactRules',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Rule',
		default: { rule: [{ category: 'marketing', maxCount: 2, windowHours: 24, minGapHours: 6 }] }, // behaviour default
		description:
			'How often one contact may receive messages of a category. Categories without a rule are not limited per contact. Practitioners keep marketing to 2 per 24 h, 6 h apart.',
		options: [
			{
				displayName: 'Rule',
				name: 'rule',
				values: [
					{
						displayName: 'Category',
						name: 'category',
						type: 'options',
						options: categoryOptions,
						default: 'marketing', // behaviour default
					},
					{
						displayName: 'At Most (Messages)',
						name: 'maxCount',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 2, // behaviour default
						description: '0 for no count limit',
					},
					{
						displayName: 'Per Rolling Window (Hours)',
						name: 'windowHours',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 24, // behaviour default
					},
					{
						displayName: 'At Least Apart (Hours)',
						name: 'minGapHours',
						type: 'number',
						typeOptions: { minValue: 0, numberPrecision: 2 },
						default: 6, // behaviour default
					},
				],
			},
		],
	},
	{
		displayName: 'Sending Budgets',
		name: 'budgets',
		type: 'collection',
		placeholder: 'Add Budget',
		default: {},
		description: 'Limits for the sending phone number (all categories together)',
		options: [
			{
				displayName: 'Messages per Day',
				name: 'messagesPerDay',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10000,
				description: 'Per rolling 24 h',
			},
			{
				displayName: 'Messages per Hour',
				name: 'messagesPerHour',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 1000,
				description: 'Per rolling hour: paces a campaign over the day',
			},
			{
				displayName: 'Unique Contacts per 24 H',
				name: 'uniqueContactsTier',
				type: 'options',
				options: [
					{ name: '250 (New Business)', value: '250' },
					{ name: '2,000', value: '2000' },
					{ name: '10,000', value: '10000' },
					{ name: '100,000', value: '100000' },
					{ name: 'From the WhatsApp API (Current Tier)', value: 'fromApi' },
					{ name: 'Unlimited', value: 'unlimited' },
				],
				default: 'fromApi', // behaviour default
				description: 'Meta’s messaging limit: unique people reached outside a customer-service window per rolling 24 h',
			},
		],
	},
	{
		displayName: 'Spend Budget',
		name: 'spendBudget',
		type: 'collection',
		placeholder: 'Add Spend Limit',
		default: {},
		description:
			'Hold back messages whose estimated cost (your rate card, as if delivered) would take the day’s or the campaign’s spend past a limit: Deferred with SPEND_BUDGET',
		options: [
			{
				displayName: 'Campaign ID',
				name: 'campaignId',
				type: 'string',
				default: '',
				placeholder: 'spring-sale-2026',
				description: 'The campaign Per Campaign counts: the same ID as in WhatsApp Template Send',
			},
			{
				displayName: 'Per Campaign',
				name: 'perCampaign',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 2 },
				default: 1000,
				description: 'Most the campaign below may spend in all (counted over the 35 days the send log keeps)',
			},
			{
				displayName: 'Per Day',
				name: 'perDay',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 2 },
				default: 100,
				description:
					'Most the sending number may spend per day (this workflow’s time zone): every message reserved or sent that day counts, whatever the campaign',
			},
			{
				displayName: 'Rate Card',
				name: 'rateCard',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: 'country,category,rate\nFR,marketing,0.0859\n*,utility,0.02',
				hint: 'Your prices per delivered message: this node invents none',
				description:
					'Needed by the spend limits: CSV lines "country,category,rate" (* for any other country) or JSON {"currency":"EUR","rates":{…}}, as in Campaign Control. A message the card has no rate for is Deferred UNPRICED while a limit is set.',
			},
			{
				displayName: 'Rate Card Currency',
				name: 'rateCardCurrency',
				type: 'string',
				default: '',
				placeholder: 'EUR',
				description: "The rate card's currency (ISO 4217), unless its JSON names one; the limits are in it too",
			},
		],
	},
	{
		displayName: 'Quiet Hours',
		name: 'quietHours',
		type: 'boolean',
		default: false, // behaviour default
		description: 'Whether to defer messages during the night in the contact’s local time',
	},
	{
		displayName: 'Quiet From',
		name: 'quietStart',
		type: 'string',
		default: '21:00', // behaviour default
		placeholder: '21:00',
		displayOptions: quiet,
		description: 'Local time (HH:mm) quiet hours start',
	},
	{
		displayName: 'Quiet Until',
		name: 'quietEnd',
		type: 'string',
		default: '09:00', // behaviour default
		placeholder: '09:00',
		displayOptions: quiet,
		description: 'Local time (HH:mm) quiet hours end; earlier than the start for a window across midnight',
	},
	{
		displayName: 'Contact Time Zone',
		name: 'contactTimeZone',
		type: 'string',
		default: '',
		placeholder: 'Europe/Paris',
		displayOptions: quiet,
		description:
			'The contact’s IANA time zone, usually an expression reading a CRM field. Empty or unknown: the zone of the number’s country when it has a single one, else the fallback.',
	},
	{
		displayName: 'Fallback Time Zone',
		name: 'fallbackTimeZone',
		type: 'string',
		default: '',
		placeholder: 'America/New_York',
		displayOptions: quiet,
		description: 'For contacts whose zone cannot be known; empty means this n8n instance’s time zone',
	},
	{
		displayName: 'Quiet Hours Apply To',
		name: 'quietCategories',
		type: 'multiOptions',
		options: categoryOptions,
		default: ['marketing'], // behaviour default
		displayOptions: quiet,
		description: 'Categories deferred during quiet hours (a one-time password should never wait for the morning)',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description: 'Whether to decide without reserving anything (to preview a campaign)',
			},
			{
				displayName: 'Reservation Lifetime (Minutes)',
				name: 'reservationMinutes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 15,
				description:
					'A passed item holds its slot this long; WhatsApp Template Send confirms it on success or releases it on a permanent failure',
			},
		],
	},
];
