import type { INodeProperties } from 'n8n-workflow';

import { UNDELIVERABLE_WINDOW_DAYS } from '../core/consent';
import { categoryOptions } from '../shared/categoryOptions';
import { contactProperties } from '../shared/contacts';
import { storeProperty } from '../store/storeParameter';

const only = (...operation: string[]) => ({ show: { operation } });

export const consentGateProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Check',
				value: 'check',
				action: 'Check consent before sending',
				description: 'Let through only contacts whose consent covers the message',
			},
			{
				name: 'Forget Contact',
				value: 'forget',
				action: 'Forget a contact',
				description: 'Erase a contact’s consent history, keeping them opted out',
			},
			{
				name: 'Get History',
				value: 'getHistory',
				action: 'Get consent history',
				description: 'The recorded opt-ins and opt-outs of a number, for audits and data requests',
			},
			{
				name: 'Import Suppression List',
				value: 'importSuppression',
				action: 'Import a suppression list',
				description: 'Mark many numbers as opted out at once',
			},
			{
				name: 'Record Opt-In',
				value: 'recordOptIn',
				action: 'Record an opt in',
				description: 'Keep proof of consent: when, where, what was shown, which business',
			},
			{
				name: 'Record Opt-Out',
				value: 'recordOptOut',
				action: 'Record an opt out',
				description: 'Honour a request to stop from any channel',
			},
		],
		default: 'check',
	},
	storeProperty,
	...contactProperties,

	// ---- Check ----
	{
		displayName: 'Message Category',
		name: 'category',
		type: 'options',
		options: categoryOptions,
		default: 'marketing',
		displayOptions: only('check'),
		description: 'The category of the template about to be sent; consent and opt-outs are per category',
	},
	{
		displayName: 'Use Consent From the CRM Record',
		name: 'useCrmConsent',
		type: 'boolean',
		default: true,
		displayOptions: only('check'),
		description: 'Whether to read consent from fields of the item (the CRM record) as well as from the store’s ledger',
	},
	{
		displayName: 'CRM Consent Is Enough',
		name: 'crmIsEnough',
		type: 'boolean',
		default: true,
		displayOptions: { show: { operation: ['check'], useCrmConsent: [true] } },
		description:
			'Whether an opt-in in the CRM alone lets a contact through. Off: it must also be recorded in the ledger (Record Opt-In).',
	},
	{
		displayName: 'CRM Opted-In Field',
		name: 'crmOptedIn',
		type: 'string',
		default: '={{ $json.whatsappOptIn }}',
		displayOptions: { show: { operation: ['check'], useCrmConsent: [true] } },
		description: 'True/yes/1 means opted in; false/no/0 is honoured as no consent, even over the ledger',
	},
	{
		displayName: 'CRM Opt-In Date Field',
		name: 'crmOptInDate',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['check'], useCrmConsent: [true] } },
		description: 'When the contact opted in (ISO date or epoch); needed for the maximum consent age',
	},
	{
		displayName: 'CRM Categories Field',
		name: 'crmCategories',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['check'], useCrmConsent: [true] } },
		description:
			'The categories the opt-in covers (list or comma-separated: marketing, utility, authentication); empty means all',
	},
	{
		displayName: 'CRM Opt-In Wording Field',
		name: 'crmWording',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['check'], useCrmConsent: [true] } },
		description: 'The text the contact agreed to; checked for the business name when that is required',
	},
	{
		displayName: 'Check Options',
		name: 'checkOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: only('check'),
		options: [
			{
				displayName: 'Inactivity Applies To',
				name: 'inactivityCategories',
				type: 'multiOptions',
				options: categoryOptions,
				default: ['marketing'],
				description:
					'Message categories the inactivity cut-off blocks. Meta’s advice on inactive contacts concerns marketing; a one-time code to a quiet customer should still go.',
			},
			{
				displayName: 'Inactivity Cut-Off (Days)',
				name: 'inactivityDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description: 'Block contacts with no interaction (reply, read, opt-in) for this long, for the categories below',
			},
			{
				displayName: 'Maximum Consent Age (Months)',
				name: 'maxConsentAgeMonths',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 12,
				description:
					'Opt-ins older than this no longer count (an undated CRM opt-in cannot prove its age and is blocked)',
			},
			{
				displayName: 'Minimum Run Size for the Check',
				name: 'minimumRunSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 20,
			},
			{
				displayName: 'Opt-Out Rate Check',
				name: 'optOutRateAction',
				type: 'options',
				options: [
					{
						name: 'Continue With a Warning',
						value: 'warn',
						description: 'Add optOutRateWarning to every item and log it',
					},
					{ name: 'Stop the Workflow', value: 'stop' },
					{ name: 'Off', value: 'off' },
				],
				default: 'warn',
				description: 'What to do when many of the run’s contacts have opted out: a sign of a stale list',
			},
			{
				displayName: 'Opt-Out Rate Threshold (%)',
				name: 'optOutThreshold',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
				default: 3,
			},
			{
				displayName: 'Require Opt-In to Name Business',
				name: 'businessName',
				type: 'string',
				default: '',
				placeholder: 'Café Lumière',
				description:
					'Only opt-ins whose wording or business field names this business count (accents and case ignored)',
			},
			{
				displayName: 'Undeliverable Within (Days)',
				name: 'undeliverableDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: UNDELIVERABLE_WINDOW_DAYS,
				description: 'Block numbers that failed with 131026 (not on WhatsApp) this recently',
			},
		],
	},

	// ---- Record Opt-In / Opt-Out / Import ----
	{
		displayName: 'Categories',
		name: 'optInCategories',
		type: 'multiOptions',
		options: categoryOptions,
		default: ['marketing'],
		displayOptions: only('recordOptIn'),
		description: 'The message categories the person agreed to',
	},
	{
		displayName: 'Categories',
		name: 'optOutCategories',
		type: 'multiOptions',
		options: [{ name: 'All Categories', value: 'all' }, ...categoryOptions],
		default: ['all'],
		displayOptions: only('recordOptOut', 'importSuppression'),
		description: 'The message categories the person no longer wants',
	},
	{
		displayName: 'When',
		name: 'consentAt',
		type: 'string',
		default: '',
		placeholder: '2026-05-01T10:00:00Z',
		displayOptions: only('recordOptIn', 'recordOptOut', 'importSuppression'),
		description: 'When the person acted (ISO date or epoch); empty means now',
	},
	{
		displayName: 'Source Channel',
		name: 'source',
		type: 'string',
		default: '',
		placeholder: 'web-form',
		displayOptions: only('recordOptIn', 'recordOptOut'),
		description: 'Where it was given: web-form, sms, ivr, paper, call-centre, crm…',
	},
	{
		displayName: 'Wording Shown',
		name: 'wording',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		displayOptions: only('recordOptIn'),
		description: 'The exact text the person agreed to',
	},
	{
		displayName: 'Business Named',
		name: 'businessName',
		type: 'string',
		default: '',
		displayOptions: only('recordOptIn'),
		description: 'The business the opt-in named',
	},
	{
		displayName: 'Collected By',
		name: 'collectedBy',
		type: 'string',
		default: '',
		displayOptions: only('recordOptIn', 'recordOptOut'),
		description: 'Who or what recorded it: a person, a form, this workflow',
	},
];
