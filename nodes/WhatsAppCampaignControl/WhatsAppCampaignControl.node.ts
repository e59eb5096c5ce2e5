import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { resumeDetails } from '../core/campaignCounters';
import { campaignReport, funnelSvg, timelineSvg } from '../core/campaignReport';
import { campaignCost } from '../core/pricing';
import { readRateCard } from '../shared/rateCard';
import { readContacts } from '../shared/contacts';
import { getComplianceStore, storeProperty, whatsAppComplianceRedisTest } from '../store/storeParameter';
import type { ComplianceStore } from '../store/types';
import { GLOBAL_SCOPE_ID, type PauseScope } from '../core/types';

const scoped = (...operation: string[]) => ({ show: { operation } });

export class WhatsAppCampaignControl implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Campaign Control',
		name: 'whatsAppCampaignControl',
		icon: 'file:whatsAppCampaignControl.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Pause and resume WhatsApp campaigns, and report how they went',
		defaults: { name: 'WhatsApp Campaign Control' },
		inputs: ['main'],
		outputs: ['main'],
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
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Get Report',
						value: 'getReport',
						action: 'Get a campaign report',
						description: 'Sent, delivered, read, failed by code, opt-outs, rates, by A/B variant',
					},
					{
						name: 'Pause',
						value: 'pause',
						action: 'Pause sending',
						description: 'Stop a campaign, a phone number or everything within half a second',
					},
					{
						name: 'Release In-Doubt Send',
						value: 'releaseInDoubt',
						action: 'Release an in doubt send',
						description:
							'After checking that a message reported IN_DOUBT did not arrive, let the campaign send to that recipient again',
					},
					{ name: 'Resume', value: 'resume', action: 'Resume sending', description: 'Lift a pause' },
				],
				default: 'pause',
			},
			storeProperty,
			{
				displayName: 'Scope',
				name: 'scope',
				type: 'options',
				options: [
					{ name: 'Campaign', value: 'campaign' },
					{ name: 'Everything', value: 'global' },
					{ name: 'Phone Number', value: 'phone' },
					{ name: 'Template', value: 'template' },
				],
				default: 'campaign',
				displayOptions: scoped('pause', 'resume'),
			},
			{
				displayName: 'Campaign ID',
				name: 'campaignId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['getReport', 'releaseInDoubt'] } },
				description: 'As set in WhatsApp Template Send',
			},
			{
				displayName: 'Recipient',
				name: 'recipient',
				type: 'string',
				default: '',
				required: true,
				placeholder: '+33612345678',
				displayOptions: { show: { operation: ['releaseInDoubt'] } },
				description:
					'The number (E.164) or business-scoped user ID of the in-doubt send, as in its IN_DOUBT item. Only an in-doubt send is released; a sent message never is.',
			},
			{
				displayName: 'Campaign ID',
				name: 'scopeId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['pause', 'resume'], scope: ['campaign'] } },
				description: 'As set in WhatsApp Template Send',
			},
			{
				displayName: 'Phone Number ID',
				name: 'phoneNumberId',
				type: 'string',
				default: '',
				required: true,
				displayOptions: { show: { operation: ['pause', 'resume'], scope: ['phone'] } },
			},
			{
				displayName: 'Template',
				name: 'template',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'spring_sale:fr',
				displayOptions: { show: { operation: ['pause', 'resume'], scope: ['template'] } },
				description: 'Name and language, as name:language',
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: '',
				displayOptions: scoped('pause', 'resume'),
				description: 'Recorded with the pause, and shown on every item it stops',
			},
			{
				displayName: 'Add Chart',
				name: 'chart',
				type: 'boolean',
				default: false,
				displayOptions: scoped('getReport'),
				description:
					'Whether to add a funnel chart (SVG) as binary data "chart" and sent/delivered/read per hour as "timeline", to post to Slack or email',
			},
			{
				displayName: 'Rate Card',
				name: 'rateCard',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				displayOptions: scoped('getReport'),
				placeholder: 'country,category,rate\nFR,marketing,0.0859\n*,utility,0.02',
				hint: 'Your prices per delivered message, from your own rate card or invoice: this node invents none',
				description:
					'Optional. Turns the billed messages into a cost: CSV lines "country,category,rate" (* for any other country) or JSON {"currency":"EUR","rates":{"FR":{"marketing":0.0859}}}. Categories are Meta\'s pricing categories (marketing, utility, authentication, authentication_international, service, …). Messages without a rate are listed as unpriced.',
			},
			{
				displayName: 'Currency',
				name: 'currency',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['getReport'] }, hide: { rateCard: [''] } },
				placeholder: 'EUR',
				description: "The rate card's currency (ISO 4217), unless its JSON names one",
			},
		],
	};

	methods = { credentialTest: { whatsAppComplianceRedisTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const store = await getComplianceStore(this);
		const out: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			const operation = this.getNodeParameter('operation', itemIndex) as string;
			if (operation === 'getReport') {
				const campaignId = (this.getNodeParameter('campaignId', itemIndex) as string).trim();
				if (!campaignId) throw new NodeOperationError(this.getNode(), 'Enter the Campaign ID', { itemIndex });
				const report = campaignReport(campaignId, await store.campaigns.counters(campaignId));
				const card = readRateCard(
					this,
					this.getNodeParameter('rateCard', itemIndex, '') as string,
					this.getNodeParameter('currency', itemIndex, '') as string,
					itemIndex,
				);
				if (card) report.cost = campaignCost(report.billing, card);
				const pause = await store.campaigns.activePause([{ scope: 'campaign', id: campaignId }]);
				const item: INodeExecutionData = {
					json: {
						report: {
							...report,
							paused: pause
								? {
										reason: pause.reason ?? null,
										at: new Date(pause.at).toISOString(),
										details: (pause.details ?? null) as IDataObject,
									}
								: null,
						} as unknown as IDataObject,
					},
					pairedItem: { item: itemIndex },
				};
				if (this.getNodeParameter('chart', itemIndex, false) as boolean) {
					item.binary = {
						chart: await this.helpers.prepareBinaryData(
							Buffer.from(funnelSvg(report)),
							`${campaignId}-funnel.svg`,
							'image/svg+xml',
						),
						timeline: await this.helpers.prepareBinaryData(
							Buffer.from(timelineSvg(report)),
							`${campaignId}-per-hour.svg`,
							'image/svg+xml',
						),
					};
				}
				out.push(item);
				continue;
			}
			if (operation === 'releaseInDoubt') {
				out.push(await releaseInDoubt(this, store, items[itemIndex], itemIndex));
				continue;
			}
			if (operation !== 'pause' && operation !== 'resume')
				throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`, { itemIndex });
			const scope = this.getNodeParameter('scope', itemIndex) as PauseScope;
			const id =
				scope === 'global'
					? GLOBAL_SCOPE_ID
					: (
							this.getNodeParameter(
								scope === 'campaign' ? 'scopeId' : scope === 'phone' ? 'phoneNumberId' : 'template',
								itemIndex,
							) as string
						).trim();
			if (!id)
				throw new NodeOperationError(
					this.getNode(),
					`Enter the ${scope === 'campaign' ? 'Campaign ID' : scope === 'phone' ? 'Phone Number ID' : 'template'} to ${operation}`,
					{ itemIndex },
				);
			const reason =
				(this.getNodeParameter('reason', itemIndex, '') as string).trim() ||
				(operation === 'pause' ? 'Paused by Campaign Control' : 'Resumed by Campaign Control');
			const at = Date.now();
			// A resumed campaign keeps its counters; the Delivery Monitor's auto-pause judges only what
			// happens after the resume, or it would pause again on the very next status.
			const details =
				operation === 'resume' && scope === 'campaign' ? resumeDetails(await store.campaigns.counters(id)) : undefined;
			await store.campaigns.setPause({ scope, id, paused: operation === 'pause', reason, at, details });
			out.push({
				json: {
					...items[itemIndex].json,
					campaignControl: { operation, scope, id, reason, at: new Date(at).toISOString() },
				},
				pairedItem: { item: itemIndex },
			});
		}
		return [out];
	}
}

/**
 * Template Send never resends a message Meta may have taken (IN_DOUBT): its claim stays until the
 * status webhook settles it. When no status will come (the message never arrived), the operator says
 * so here, and only then may a re-run send to the recipient again.
 */
async function releaseInDoubt(
	context: IExecuteFunctions,
	store: ComplianceStore,
	item: INodeExecutionData,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const node = context.getNode();
	const campaignId = (context.getNodeParameter('campaignId', itemIndex) as string).trim();
	if (!campaignId) throw new NodeOperationError(node, 'Enter the Campaign ID', { itemIndex });
	const [contact] = await readContacts(context, [item], store, 'recipient', itemIndex);
	if ('invalid' in contact)
		throw new NodeOperationError(node, `The recipient is not a number or BSUID (${contact.invalid})`, {
			itemIndex,
			description: 'Enter the number or business-scoped user ID as the IN_DOUBT item shows it.',
		});
	const released = await store.sends.releaseInDoubt(campaignId, contact.key);
	return {
		json: {
			...item.json,
			campaignControl: {
				operation: 'releaseInDoubt',
				campaignId,
				recipient: contact.recipient,
				released,
				...(released ? {} : { reason: 'NOT_IN_DOUBT' }),
			},
		},
		pairedItem: { item: itemIndex },
	};
}
