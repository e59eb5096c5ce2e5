import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { messageCost, toCostUnits, type RateCard } from '../core/pricing';
import { HOUR_MS, localDay } from '../core/time';
import { contactZone, isValidZone, parseLocalTime, quietUntil } from '../core/quietHours';
import { readContacts } from '../shared/contacts';
import { readItemValue } from '../shared/itemValues';
import { readRateCard } from '../shared/rateCard';
import { iso } from '../shared/values';
import { getComplianceStore, whatsAppComplianceRedisTest } from '../store/storeParameter';
import {
	isMessageCategory,
	type CapRequest,
	type ContactRule,
	type MessageCategory,
	type SendingBudgets,
	type SpendRequest,
} from '../core/types';
import { whatsAppCloudApiTest } from '../transport/credentialTest';
import { GraphApiClient, graphApiConfigFromCredentials } from '../transport/GraphApiClient';
import { frequencyCapProperties } from './description';

export class WhatsAppFrequencyCap implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Frequency Cap',
		name: 'whatsAppFrequencyCap',
		icon: 'file:whatsAppFrequencyCap.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["category"] + ($parameter["quietHours"] ? ", quiet hours" : "") }}',
		description:
			'Hold back messages that would exceed per-contact caps, the number’s sending budgets or quiet hours, reserving a slot for each one let through',
		defaults: { name: 'WhatsApp Frequency Cap' },
		inputs: ['main'],
		// Two outputs, like n8n's own If node; the rule predates multi-output regular nodes.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: ['main', 'main'],
		outputNames: ['Send Now', 'Deferred'],
		credentials: [
			{ name: 'whatsAppCloudApi', required: true, testedBy: 'whatsAppCloudApiTest' },
			{
				name: 'whatsAppComplianceRedisApi',
				required: true,
				displayOptions: { show: { store: ['redis'] } },
				testedBy: 'whatsAppComplianceRedisTest',
			},
		],
		properties: frequencyCapProperties,
	};

	methods = { credentialTest: { whatsAppCloudApiTest, whatsAppComplianceRedisTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const node = this.getNode();
		const items = this.getInputData();
		const store = await getComplianceStore(this);
		const cloud = graphApiConfigFromCredentials(await this.getCredentials('whatsAppCloudApi'));
		if (!cloud.phoneNumberId)
			throw new NodeOperationError(
				node,
				'The WhatsApp Cloud API credential has no Phone Number ID: budgets are kept per sending number',
			);
		const rules = readRules(this);
		const budgets = await readBudgets(this, cloud);
		const options = this.getNodeParameter('options', 0, {}) as { dryRun?: boolean; reservationMinutes?: number };
		const reservationTtlMs = (options.reservationMinutes ?? 15) * 60_000;
		const quiet = readQuietHours(this);
		const now = Date.now();
		const spendBudget = readSpendBudget(this, localDay(now, this.getTimezone()));
		const categoryIsPerItem = String(node.parameters.category ?? '').startsWith('=');
		const fixedCategory = this.getNodeParameter('category', 0, 'marketing') as MessageCategory;

		const contacts = await readContacts(this, items, store);
		const results: IDataObject[] = new Array(items.length);
		const pending: Array<{ itemIndex: number; request: CapRequest }> = [];
		const costs: Array<IDataObject | undefined> = new Array(items.length);

		items.forEach((item, itemIndex) => {
			const contact = contacts[itemIndex];
			const category = categoryIsPerItem
				? (this.getNodeParameter('category', itemIndex) as MessageCategory)
				: fixedCategory;
			if (!isMessageCategory(category)) {
				throw new NodeOperationError(
					node,
					`Message category "${String(category)}" is not marketing, utility or authentication`,
					{ itemIndex },
				);
			}
			if ('invalid' in contact) {
				results[itemIndex] = {
					allowed: false,
					category,
					reason: 'INVALID_NUMBER',
					detail: contact.invalid,
					nextAllowedAt: null,
				};
				return;
			}
			if (quiet && quiet.categories.includes(category)) {
				const { zone, from } = contactZone(
					readItemValue(this, 'contactTimeZone', itemIndex, item),
					contact.country,
					quiet.fallbackZone,
				);
				const until = quietUntil(now, zone, quiet.window);
				if (until !== undefined) {
					results[itemIndex] = {
						allowed: false,
						category,
						reason: 'QUIET_HOURS',
						nextAllowedAt: iso(until),
						timeZone: zone,
						timeZoneFrom: from,
					};
					return;
				}
			}
			let spend: SpendRequest | undefined;
			if (spendBudget) {
				const cost = messageCost(spendBudget.card, contact.recipient, category);
				if ('unpriced' in cost) {
					// Without a rate the message cannot be weighed against a limit: never let it through on a guess.
					if (spendBudget.limited) {
						results[itemIndex] = {
							allowed: false,
							category,
							reason: 'UNPRICED',
							detail: `The rate card has no ${category} rate for ${cost.country ?? 'this recipient'}${cost.country ? ' and no *' : ''}: add one to send under a spend limit`,
							nextAllowedAt: null,
						};
						return;
					}
				} else {
					costs[itemIndex] = { amount: cost.amount, currency: cost.currency };
					spend = { ...spendBudget.limits, units: toCostUnits(cost.amount) };
				}
			}
			pending.push({
				itemIndex,
				request: {
					contactKey: contact.key,
					category,
					phoneNumberId: cloud.phoneNumberId,
					rule: rules.get(category),
					budgets,
					spend,
					reservationTtlMs,
					dryRun: options.dryRun,
				},
			});
		});

		// One atomic check-and-reserve for the whole execution.
		const decisions = await store.caps.reserve(
			pending.map((p) => p.request),
			now,
		);
		decisions.forEach((decision, i) => {
			const { itemIndex, request } = pending[i];
			results[itemIndex] = decision.allowed
				? {
						allowed: true,
						category: request.category,
						...(costs[itemIndex] ? { estimatedCost: costs[itemIndex] } : {}),
						...(decision.reservationId
							? {
									reservationId: decision.reservationId,
									reservedUntil: iso(now + reservationTtlMs),
									phoneNumberId: request.phoneNumberId,
								}
							: { dryRun: true }),
					}
				: {
						allowed: false,
						category: request.category,
						reason: decision.reason,
						nextAllowedAt: iso(decision.nextAllowedAt),
						...(decision.reason === 'SPEND_BUDGET'
							? // The day's limit frees at the next day; the campaign's never by waiting.
								{
									spendLimit: decision.nextAllowedAt === null ? 'perCampaign' : 'perDay',
									estimatedCost: costs[itemIndex],
								}
							: {}),
					};
		});

		const sendNow: INodeExecutionData[] = [];
		const deferred: INodeExecutionData[] = [];
		results.forEach((frequencyCap, itemIndex) => {
			const out = { json: { ...items[itemIndex].json, frequencyCap }, pairedItem: { item: itemIndex } };
			(frequencyCap.allowed ? sendNow : deferred).push(out);
		});
		return [sendNow, deferred];
	}
}

function readRules(context: IExecuteFunctions): Map<MessageCategory, ContactRule> {
	const raw = context.getNodeParameter('contactRules', 0, {}) as {
		rule?: Array<{ category: MessageCategory; maxCount: number; windowHours: number; minGapHours: number }>;
	};
	const rules = new Map<MessageCategory, ContactRule>();
	for (const rule of raw.rule ?? []) {
		if (rules.has(rule.category)) {
			throw new NodeOperationError(context.getNode(), `Two per-contact rules for ${rule.category}: keep one`);
		}
		rules.set(rule.category, {
			maxCount: rule.maxCount,
			windowMs: rule.windowHours * HOUR_MS,
			minGapMs: rule.minGapHours * HOUR_MS,
		});
	}
	return rules;
}

/** Meta's messaging limit tiers, as `whatsapp_business_manager_messaging_limit` reports them. */
const TIER_CONTACTS: Record<string, number | undefined> = {
	TIER_50: 50,
	TIER_250: 250,
	TIER_1K: 1_000,
	TIER_2K: 2_000,
	TIER_10K: 10_000,
	TIER_100K: 100_000,
	TIER_UNLIMITED: undefined,
};

/* The tier changes rarely and Meta allows ~200 management calls per hour: ask at most every 10 minutes. */
const tierCache = new Map<string, { at: number; contacts: number | undefined }>();
const TIER_TTL_MS = 10 * 60_000;

async function readBudgets(
	context: IExecuteFunctions,
	cloud: ReturnType<typeof graphApiConfigFromCredentials>,
): Promise<SendingBudgets> {
	const raw = context.getNodeParameter('budgets', 0, {}) as {
		uniqueContactsTier?: string;
		messagesPerHour?: number;
		messagesPerDay?: number;
	};
	const budgets: SendingBudgets = { messagesPerHour: raw.messagesPerHour, messagesPerDay: raw.messagesPerDay };
	const tier = raw.uniqueContactsTier;
	if (tier === 'fromApi') {
		const key = `${cloud.baseUrl}|${cloud.phoneNumberId}`;
		let cached = tierCache.get(key);
		if (!cached || Date.now() - cached.at > TIER_TTL_MS) {
			let limit: string;
			try {
				const phone = await new GraphApiClient(cloud).getPhoneNumber('whatsapp_business_manager_messaging_limit');
				limit = String(phone.whatsapp_business_manager_messaging_limit ?? '');
			} catch (error) {
				throw new NodeOperationError(
					context.getNode(),
					`Could not read the messaging limit tier from WhatsApp: ${(error as Error).message}`,
					{
						description: 'Choose the tier in "Unique Contacts per 24 H", or check the WhatsApp Cloud API credential.',
					},
				);
			}
			if (!(limit in TIER_CONTACTS)) {
				throw new NodeOperationError(context.getNode(), `WhatsApp reported an unknown messaging limit "${limit}"`, {
					description: 'Choose the tier in "Unique Contacts per 24 H" instead of reading it from the API.',
				});
			}
			cached = { at: Date.now(), contacts: TIER_CONTACTS[limit] };
			tierCache.set(key, cached);
		}
		budgets.uniqueContactsPer24h = cached.contacts;
	} else if (tier && tier !== 'unlimited') {
		budgets.uniqueContactsPer24h = Number(tier);
	}
	return budgets;
}

/**
 * The Spend Budget: the rate card and the limits in the card's currency for the spend day `day` (local
 * midnight to midnight), or undefined when no card is given. `limited` when a limit is set (then an
 * unpriced message is held back). Limits without a card, or a campaign limit without its campaign, are
 * configuration mistakes.
 */
function readSpendBudget(
	context: IExecuteFunctions,
	day: { start: number; next: number },
): { card: RateCard; limited: boolean; limits: Omit<SpendRequest, 'units'> } | undefined {
	const raw = context.getNodeParameter('spendBudget', 0, {}) as {
		rateCard?: string;
		rateCardCurrency?: string;
		perDay?: number;
		perCampaign?: number;
		campaignId?: string;
	};
	const node = context.getNode();
	const limited = raw.perDay !== undefined || raw.perCampaign !== undefined;
	const card = readRateCard(context, raw.rateCard, raw.rateCardCurrency);
	if (!card) {
		if (limited)
			throw new NodeOperationError(node, 'Spend Budget: add your Rate Card, which the spend limits are counted with');
		return undefined;
	}
	const campaignId = raw.campaignId?.trim() || undefined;
	if (raw.perCampaign !== undefined && !campaignId)
		throw new NodeOperationError(node, 'Spend Budget: Per Campaign needs the Campaign ID it counts');
	return {
		card,
		limited,
		limits: {
			day: day.start,
			nextDay: day.next,
			perDay: raw.perDay !== undefined ? toCostUnits(raw.perDay) : undefined,
			perCampaign: raw.perCampaign !== undefined ? toCostUnits(raw.perCampaign) : undefined,
			campaignId,
		},
	};
}

function readQuietHours(context: IExecuteFunctions) {
	if (!(context.getNodeParameter('quietHours', 0, false) as boolean)) return undefined;
	const node = context.getNode();
	const window = {
		start: context.getNodeParameter('quietStart', 0) as string,
		end: context.getNodeParameter('quietEnd', 0) as string,
	};
	for (const time of [window.start, window.end]) {
		if (!parseLocalTime(time)) throw new NodeOperationError(node, `Quiet hours: "${time}" is not a time like 21:00`);
	}
	const fallbackZone = (context.getNodeParameter('fallbackTimeZone', 0, '') as string).trim() || context.getTimezone();
	if (!isValidZone(fallbackZone))
		throw new NodeOperationError(node, `Quiet hours: "${fallbackZone}" is not an IANA time zone like Europe/Paris`);
	return {
		window,
		fallbackZone,
		categories: context.getNodeParameter('quietCategories', 0, ['marketing']) as string[],
	};
}
