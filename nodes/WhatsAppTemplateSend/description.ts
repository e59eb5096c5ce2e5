import type { INodeProperties } from 'n8n-workflow';

import { storeProperty } from '../store/storeParameter';

const NAME_LANGUAGE = '^[a-z0-9_]+:[A-Za-z_]{2,10}$';

export const templateSendProperties: INodeProperties[] = [
	storeProperty,
	{
		displayName: 'Template',
		name: 'template',
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		description: 'An APPROVED message template of the WhatsApp Business Account',
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchTemplates', searchable: true },
			},
			{
				displayName: 'By Name and Language',
				name: 'name',
				type: 'string',
				placeholder: 'spring_sale:fr',
				hint: 'The template name, a colon and its language code',
				validation: [
					{
						type: 'regex',
						properties: { regex: NAME_LANGUAGE, errorMessage: 'Use name:language, e.g. spring_sale:fr' },
					},
				],
			},
		],
	},
	{
		displayName: 'Recipient',
		name: 'recipient',
		type: 'string',
		default: '={{ $json.whatsapp.recipient ?? $json.whatsapp.e164 }}',
		required: true,
		description:
			'The number to message, or the person’s business-scoped user ID (BSUID, e.g. US.13491208655302741918) when they withhold their number; by default what the WhatsApp Number Validation node added',
	},
	{
		displayName: 'Variables Input',
		name: 'variablesMode',
		type: 'options',
		options: [
			{
				name: 'Map Each Variable',
				value: 'mapped',
				description: 'Fields for the template’s variables, filled from the item',
			},
			{ name: 'Components JSON', value: 'json', description: 'Advanced: Meta’s template components, as JSON' },
		],
		default: 'mapped',
	},
	{
		displayName: 'Variables',
		name: 'variables',
		type: 'resourceMapper',
		noDataExpression: true,
		default: { mappingMode: 'defineBelow', value: null },
		required: true,
		displayOptions: { show: { variablesMode: ['mapped'] } },
		typeOptions: {
			loadOptionsDependsOn: ['template.value'],
			resourceMapper: {
				resourceMapperMethod: 'getTemplateVariables',
				mode: 'add',
				fieldWords: { singular: 'variable', plural: 'variables' },
				addAllFields: true,
				multiKeyMatch: false,
				supportAutoMap: false,
			},
		},
	},
	{
		displayName: 'Components (JSON)',
		name: 'componentsJson',
		type: 'json',
		default: '[]',
		displayOptions: { show: { variablesMode: ['json'] } },
		description: 'The template.components array of Meta’s send request',
	},
	{
		displayName: 'Campaign ID',
		name: 'campaignId',
		type: 'string',
		default: '',
		placeholder: 'spring-2026',
		description:
			'Recipients already sent in this campaign are not sent again (safe re-runs). Empty: this workflow’s ID and the template name. Also tags the delivery statuses for the Delivery Monitor.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'A/B Variant Share (%)',
				name: 'variantPercent',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100 },
				default: 10,
				description:
					'Share of contacts (chosen from a hash of the number, so each contact always gets the same variant) sent the variant template',
			},
			{
				displayName: 'A/B Variant Template',
				name: 'variantTemplate',
				type: 'string',
				default: '',
				placeholder: 'spring_sale_b:fr',
				description: 'A second template (name:language) taking the same variables',
			},
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 256 },
				default: 0,
				description: 'Requests in flight at once; 0 picks one from the rate',
			},
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description: 'Whether to validate and render the exact request bodies without calling WhatsApp',
			},
			{
				displayName: 'In-Flight Claim Timeout (Seconds)',
				name: 'claimTimeoutSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 600,
				description:
					'After a crash, how long a recipient whose send was under way is left alone before a re-run may send again',
			},
			{
				displayName: 'Max Retries',
				name: 'maxRetries',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 10 },
				default: 5,
				description: 'Retries of throughput, pair-rate and transient errors; permanent errors are never retried',
			},
			{
				displayName: 'Opt-Out Path Check',
				name: 'optOutPath',
				type: 'options',
				options: [
					{ name: 'Warn', value: 'warn', description: 'Add a warning to the output and the log' },
					{
						name: 'Require',
						value: 'require',
						description: 'Stop the run when a marketing template offers no way out',
					},
				],
				default: 'warn',
				description: 'Whether a marketing template must offer a way to opt out (a STOP quick reply or footer)',
			},
			{
				displayName: 'Progress Log Every (Messages)',
				name: 'progressEvery',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 500,
			},
			{
				displayName: 'Rate (Messages per Second)',
				name: 'rate',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1000 },
				default: 80,
				description:
					'Shared by every execution (and worker) sending from this number: Meta allows 80/s, raised to 1,000/s for large senders',
			},
			{
				displayName: 'Rate Card (Dry Run Estimate)',
				name: 'rateCard',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				placeholder: 'country,category,rate\nFR,marketing,0.0859',
				hint: 'Your prices per delivered message: this node invents none',
				description:
					'With Dry Run: each item gets estimatedCost from this card (the recipient\'s country and the template\'s category), as if delivered. CSV lines "country,category,rate" (* for any other country) or JSON {"currency":"EUR","rates":{…}}, as in Campaign Control.',
			},
			{
				displayName: 'Rate Card Currency',
				name: 'rateCardCurrency',
				type: 'string',
				default: '',
				placeholder: 'EUR',
				description: "The rate card's currency (ISO 4217), unless its JSON names one",
			},
			{
				displayName: 'Refuse Suppressed Contacts',
				name: 'suppressAtSendTime',
				type: 'boolean',
				default: true,
				description:
					'Whether a marketing send to a contact on the suppression list is refused even if the workflow skipped the Consent Gate',
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeoutSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5,
				description: 'Per request; a request with no answer by then is retried',
			},
		],
	},
];
