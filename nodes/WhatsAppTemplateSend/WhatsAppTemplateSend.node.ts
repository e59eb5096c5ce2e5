import { createHash } from 'node:crypto';

import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type ILoadOptionsFunctions,
	type INodeExecutionData,
	type INodeListSearchResult,
	type INodeType,
	type INodeTypeDescription,
	type ResourceMapperFields,
} from 'n8n-workflow';

import { callbackData } from '../core/callbackData';
import { CounterDeltas } from '../core/campaignCounters';
import { optedOutSince } from '../core/consent';
import { messageCost } from '../core/pricing';
import { DEFAULT_RETRY } from '../core/retryPolicy';
import {
	buildComponents,
	optOutPathWarning,
	templateSlots,
	typedFields,
	type TemplateDefinition,
} from '../core/templates';
import { readContacts } from '../shared/contacts';
import { readRateCard } from '../shared/rateCard';
import { iso } from '../shared/values';
import { getComplianceStore, whatsAppComplianceRedisTest } from '../store/storeParameter';
import { StoreUnavailableError } from '../store/types';
import { whatsAppCloudApiTest } from '../transport/credentialTest';
import {
	buildTemplateBody,
	GraphApiClient,
	graphApiConfigFromCredentials,
	type GraphApiConfig,
	type TemplateComponent,
} from '../transport/GraphApiClient';
import { templateSendProperties } from './description';
import { sendCampaign, type PreparedSend, type SendOutcome } from './sendCampaign';

export class WhatsAppTemplateSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Template Send',
		name: 'whatsAppTemplateSend',
		icon: 'file:whatsAppTemplateSend.svg',
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["template"].cachedResultName || $parameter["template"].value }}',
		description:
			'Send approved WhatsApp templates, paced to the number’s throughput, retried the way Meta advises, never twice to the same person in a campaign',
		defaults: { name: 'WhatsApp Template Send' },
		inputs: ['main'],
		// Three outputs (Sent, Failed, Not Sent); the rule predates multi-output regular nodes.
		// eslint-disable-next-line n8n-nodes-base/node-class-description-outputs-wrong
		outputs: ['main', 'main', 'main'],
		outputNames: ['Sent', 'Failed', 'Not Sent'],
		credentials: [
			{ name: 'whatsAppCloudApi', required: true, testedBy: 'whatsAppCloudApiTest' },
			{
				name: 'whatsAppComplianceRedisApi',
				required: true,
				displayOptions: { show: { store: ['redis'] } },
				testedBy: 'whatsAppComplianceRedisTest',
			},
		],
		properties: templateSendProperties,
	};

	methods = {
		credentialTest: { whatsAppCloudApiTest, whatsAppComplianceRedisTest },
		listSearch: {
			async searchTemplates(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
				const templates = await approvedTemplates(
					graphApiConfigFromCredentials(await this.getCredentials('whatsAppCloudApi')),
				);
				const wanted = (filter ?? '').toLowerCase();
				return {
					results: templates
						.filter((t) => !wanted || t.name.toLowerCase().includes(wanted))
						.map((t) => ({
							name: `${t.name} (${t.language}, ${t.category.toLowerCase()})`,
							value: `${t.name}:${t.language}`,
						})),
				};
			},
		},
		resourceMapping: {
			async getTemplateVariables(this: ILoadOptionsFunctions): Promise<ResourceMapperFields> {
				const reference = templateReference(this.getNodeParameter('template', undefined, { extractValue: true }));
				if (!reference) return { fields: [], emptyFieldsNotice: 'Choose a template first' };
				const templates = await approvedTemplates(
					graphApiConfigFromCredentials(await this.getCredentials('whatsAppCloudApi')),
				);
				const template = templates.find((t) => t.name === reference.name && t.language === reference.language);
				if (!template)
					return { fields: [], emptyFieldsNotice: `No approved template ${reference.name} in ${reference.language}` };
				const field = { defaultMatch: false, canBeUsedToMatch: false, display: true };
				const fields: ResourceMapperFields['fields'] = [
					...templateSlots(template).map((slot) => ({
						...field,
						id: slot.id,
						displayName: slot.label,
						required: slot.required,
						type: 'string' as const,
					})),
					// Hidden until added ("Add variable"): a body variable sent as Meta's currency or date_time.
					...typedFields(template).map((typed) => ({
						...field,
						id: typed.id,
						displayName: typed.label,
						required: false,
						removed: true,
						type:
							typed.kind === 'amount_1000'
								? ('number' as const)
								: typed.kind === 'date_time'
									? ('boolean' as const)
									: ('string' as const),
					})),
				];
				return { fields, emptyFieldsNotice: 'This template has no variables' };
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const node = this.getNode();
		const items = this.getInputData();
		const cloud = graphApiConfigFromCredentials(await this.getCredentials('whatsAppCloudApi'));
		if (!cloud.phoneNumberId)
			throw new NodeOperationError(node, 'The WhatsApp Cloud API credential has no Phone Number ID');
		const options = this.getNodeParameter('options', 0, {}) as {
			rate?: number;
			concurrency?: number;
			maxRetries?: number;
			timeoutSeconds?: number;
			claimTimeoutSeconds?: number;
			dryRun?: boolean;
			suppressAtSendTime?: boolean;
			optOutPath?: 'warn' | 'require';
			progressEvery?: number;
			variantTemplate?: string;
			variantPercent?: number;
			rateCard?: string;
			rateCardCurrency?: string;
		};

		// ---- the templates, checked before anything is sent ----
		const reference = templateReference(this.getNodeParameter('template', 0, undefined, { extractValue: true }));
		if (!reference)
			throw new NodeOperationError(node, 'Choose a template, or enter it as name:language (e.g. spring_sale:fr)');
		let templates: TemplateDefinition[];
		try {
			templates = await approvedTemplates(cloud, true);
		} catch (error) {
			throw new NodeOperationError(node, `Could not list the message templates: ${(error as Error).message}`, {
				description: 'Check the WhatsApp Cloud API credential (token, WhatsApp Business Account ID).',
			});
		}
		const templateA = findTemplate(this, templates, reference);
		const variantReference = options.variantTemplate ? templateReference(options.variantTemplate) : undefined;
		if (options.variantTemplate && !variantReference)
			throw new NodeOperationError(node, `A/B variant "${options.variantTemplate}" is not name:language`);
		const templateB = variantReference ? findTemplate(this, templates, variantReference) : undefined;
		const variantShare = templateB ? (options.variantPercent ?? 10) : 0;

		const warnings: string[] = [];
		for (const template of [templateA, templateB]) {
			const warning = template && optOutPathWarning(template);
			if (!warning) continue;
			if (options.optOutPath === 'require') {
				throw new NodeOperationError(node, warning, { description: 'Or set "Opt-Out Path Check" to Warn.' });
			}
			warnings.push(warning);
			this.logger.warn(`WhatsApp Template Send: ${warning}`);
		}

		const store = await getComplianceStore(this);
		const campaignId = (
			(this.getNodeParameter('campaignId', 0, '') as string).trim() ||
			`${this.getWorkflow().id ?? 'workflow'}:${templateA.name}`
		).slice(0, 200);
		const contacts = await readContacts(this, items, store, 'recipient');
		const marketing = templateA.category.toUpperCase() === 'MARKETING';
		const suppressed = new Set<string>();
		/** Contacts Meta asked not to send marketing to yet (131049), with the time the hold ends. */
		const held = new Map<string, number>();
		if (marketing && options.suppressAtSendTime !== false) {
			const keys = contacts.flatMap((c) => ('key' in c ? [c.key] : []));
			const now = Date.now();
			for (const [key, state] of await store.ledger.contactStates(keys)) {
				if (optedOutSince(state, 'marketing') !== undefined) suppressed.add(key);
				else if (state.holdUntil !== undefined && state.holdUntil > now) held.set(key, state.holdUntil);
			}
		}

		// ---- per item: recipient, variant, components; bad items fail here, without a call ----
		const results: IDataObject[] = new Array(items.length);
		const sends: PreparedSend[] = [];
		const variablesMode = this.getNodeParameter('variablesMode', 0, 'mapped') as string;
		// Variables without any expression are the same for every item: resolve them once, not per item.
		const fixedVariables = JSON.stringify(node.parameters.variables ?? {}).includes('"=')
			? undefined
			: (this.getNodeParameter('variables', 0, {}) as { value?: Record<string, unknown> | null });
		items.forEach((item, itemIndex) => {
			const contact = contacts[itemIndex];
			if ('invalid' in contact) {
				results[itemIndex] = {
					status: 'failed',
					reason: 'INVALID_RECIPIENT',
					message: `The recipient is not a usable number (${contact.invalid})`,
					input: contact.input,
				};
				return;
			}
			if (suppressed.has(contact.key)) {
				results[itemIndex] = {
					status: 'not_sent',
					reason: 'SUPPRESSED',
					detail: 'The contact opted out of marketing messages',
				};
				return;
			}
			if (held.has(contact.key)) {
				results[itemIndex] = {
					status: 'not_sent',
					reason: 'META_HOLD',
					detail: `Meta asked for no more marketing to this person until ${iso(held.get(contact.key))} (131049)`,
				};
				return;
			}
			const variant: 'A' | 'B' = templateB && hashPercent(contact.key) < variantShare ? 'B' : 'A';
			const template = variant === 'B' ? templateB! : templateA;
			let components: TemplateComponent[];
			if (variablesMode === 'json') {
				const raw = this.getNodeParameter('componentsJson', itemIndex, '[]');
				let parsed: unknown;
				try {
					parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
				} catch (error) {
					parsed = (error as Error).message;
				}
				if (!Array.isArray(parsed)) {
					results[itemIndex] = {
						status: 'failed',
						reason: 'INVALID_COMPONENTS',
						message: `Components JSON is not a JSON array${typeof parsed === 'string' ? `: ${parsed}` : ''}`,
					};
					return;
				}
				components = parsed as TemplateComponent[];
			} else {
				const mapped =
					fixedVariables ??
					(this.getNodeParameter('variables', itemIndex, {}) as { value?: Record<string, unknown> | null });
				const built = buildComponents(template, mapped.value ?? {});
				if ('problems' in built) {
					results[itemIndex] = {
						status: 'failed',
						reason: 'INVALID_VARIABLES',
						message: built.problems.join('; '),
						problems: built.problems,
						variant,
					};
					return;
				}
				components = built.components as unknown as TemplateComponent[];
			}
			const reservationId = (item.json.frequencyCap as IDataObject | undefined)?.reservationId;
			sends.push({
				itemIndex,
				contactKey: contact.key,
				to: contact.recipient,
				variant,
				template: { name: template.name, language: template.language },
				components,
				reservationId: typeof reservationId === 'string' ? reservationId : undefined,
			});
		});

		if (options.dryRun) {
			const card = readRateCard(this, options.rateCard, options.rateCardCurrency);
			for (const send of sends) {
				results[send.itemIndex] = {
					status: 'dry_run',
					variant: send.variant,
					template: send.template.name,
					language: send.template.language,
					campaignId,
					// The exact body a real run sends (the transport's builder, the same callback data).
					requestBody: buildTemplateBody({
						to: send.to,
						name: send.template.name,
						languageCode: send.template.language,
						components: send.components,
						bizOpaqueCallbackData: callbackData(campaignId, send.variant, send.contactKey),
					}),
					...(card
						? { estimatedCost: messageCost(card, send.to, (send.variant === 'B' ? templateB! : templateA).category) }
						: {}),
				};
			}
		} else if (sends.length) {
			const rate = options.rate ?? 80;
			const client = new GraphApiClient(cloud, { timeoutMs: (options.timeoutSeconds ?? 5) * 1000 });
			const outcomes = await sendCampaign(store, client, sends, {
				campaignId,
				phoneNumberId: cloud.phoneNumberId,
				ratePerSecond: rate,
				concurrency: options.concurrency || Math.min(256, Math.max(8, Math.ceil(rate / 2))),
				retry: { ...DEFAULT_RETRY, maxRetries: options.maxRetries ?? DEFAULT_RETRY.maxRetries },
				claimTtlMs: (options.claimTimeoutSeconds ?? 600) * 1000,
				pauseCheckMs: 250,
				progressEvery: options.progressEvery ?? 500,
				onProgress: (p) =>
					this.logger.info(
						`WhatsApp Template Send ${campaignId}: ${p.sent} sent, ${p.failed} failed, ${p.notSent} not sent, ${p.remaining} remaining, ${p.ratePerSecond.toFixed(1)} msg/s`,
					),
			});
			const byItem = new Map(sends.map((send) => [send.itemIndex, send]));
			for (const outcome of outcomes)
				results[outcome.itemIndex] = describeOutcome(outcome, byItem.get(outcome.itemIndex)!, campaignId);
		}

		try {
			await store.campaigns.incrementCounters(campaignId, countersOf(campaignId, results));
		} catch (error) {
			// Every item still leaves through its output; the report will miss this run's counts.
			if (!(error instanceof StoreUnavailableError)) throw error;
			warnings.push(`The campaign counters of this run were not recorded: ${error.message}`);
		}
		const sent: INodeExecutionData[] = [];
		const failed: INodeExecutionData[] = [];
		const notSent: INodeExecutionData[] = [];
		results.forEach((whatsappSend, itemIndex) => {
			if (warnings.length) whatsappSend.warnings = warnings;
			const out = { json: { ...items[itemIndex].json, whatsappSend }, pairedItem: { item: itemIndex } };
			if (whatsappSend.status === 'sent' || whatsappSend.status === 'dry_run') sent.push(out);
			else if (whatsappSend.status === 'failed') failed.push(out);
			else notSent.push(out);
		});
		return [sent, failed, notSent];
	}
}

function describeOutcome(outcome: SendOutcome, send: PreparedSend, campaignId: string): IDataObject {
	switch (outcome.kind) {
		case 'sent':
			return {
				status: 'sent',
				wamid: outcome.result.messageId,
				waId: outcome.result.waId ?? null,
				messageStatus: outcome.result.messageStatus,
				variant: outcome.variant,
				template: send.template.name,
				language: send.template.language,
				attempts: outcome.attempts,
				campaignId,
				sentAt: iso(outcome.sentAt),
				...(outcome.unrecorded
					? {
							recorded: false,
							warning:
								'Meta accepted this message, but the store failed before the campaign log recorded it: the Delivery Monitor records it when its statuses arrive, and no run sends it again meanwhile',
						}
					: {}),
			};
		case 'failed':
			if (outcome.inDoubt)
				return {
					status: 'failed',
					reason: 'IN_DOUBT',
					message:
						'The request reached Meta and no answer came: the message may have been delivered. It is not sent again, by this run or a later one, until its status arrives (the Delivery Monitor settles it).',
					detail: outcome.error.message,
					responseReceived: false,
					variant: outcome.variant,
					attempts: outcome.attempts,
					campaignId,
				};
			return {
				status: 'failed',
				reason: 'META_ERROR',
				code: outcome.error.code ?? null,
				errorClass: outcome.error.errorClass,
				meaning: outcome.error.rule.meaning,
				message: outcome.error.message,
				details: outcome.error.details ?? null,
				fbtraceId: outcome.error.fbtraceId ?? null,
				responseReceived: outcome.error.responseReceived,
				variant: outcome.variant,
				attempts: outcome.attempts,
				campaignId,
			};
		default:
			return { status: 'not_sent', reason: outcome.reason, detail: outcome.detail ?? null, campaignId };
	}
}

/** Campaign counters that add up to the outputs: sent (per variant and hour), failed (by code), not sent (by reason). */
function countersOf(campaignId: string, results: IDataObject[]): Record<string, number> {
	const counters = new CounterDeltas();
	for (const result of results) {
		if (result.status === 'sent') {
			counters.add(campaignId, 'sent', { variant: String(result.variant), at: Date.parse(String(result.sentAt)) });
		} else if (result.status === 'failed') {
			counters.add(campaignId, 'failed');
			counters.addKeyed(campaignId, 'failed', String(result.code ?? result.reason));
		} else if (result.status === 'not_sent') {
			counters.add(campaignId, 'notSent');
			counters.addKeyed(campaignId, 'notSent', String(result.reason));
		}
	}
	return counters.entries()[0]?.[1] ?? {};
}

/** A stable 0–99 from the contact key: each contact always gets the same A/B variant. */
function hashPercent(contactKey: string): number {
	return parseInt(createHash('sha256').update(contactKey).digest('hex').slice(0, 8), 16) % 100;
}

function templateReference(value: unknown): { name: string; language: string } | undefined {
	const match = /^([a-z0-9_]+):([A-Za-z_]{2,10})$/.exec(String(value ?? '').trim());
	return match ? { name: match[1], language: match[2] } : undefined;
}

function findTemplate(
	context: IExecuteFunctions,
	templates: TemplateDefinition[],
	reference: { name: string; language: string },
): TemplateDefinition {
	const template = templates.find((t) => t.name === reference.name && t.language === reference.language);
	if (!template) {
		throw new NodeOperationError(
			context.getNode(),
			`Template ${reference.name} (${reference.language}) is not an approved template of this WhatsApp Business Account`,
			{
				description: 'Pick it from the list, check its name and language, or wait for Meta to approve it.',
			},
		);
	}
	return template;
}

/*
 * Templates change rarely and Meta allows ~200 management calls per hour per WABA: keep the list five
 * minutes; a run re-reads it (fresh = true) only when the cached copy is older than 30 s.
 */
const templateCache = new Map<string, { at: number; templates: TemplateDefinition[] }>();

async function approvedTemplates(config: GraphApiConfig, fresh = false): Promise<TemplateDefinition[]> {
	const key = `${config.baseUrl}|${config.apiVersion}|${config.businessAccountId}`;
	const cached = templateCache.get(key);
	if (cached && Date.now() - cached.at < (fresh ? 30_000 : 300_000)) return cached.templates;
	const all = await new GraphApiClient(config).listTemplates();
	const templates = all.filter((t) => t.status === 'APPROVED') as TemplateDefinition[];
	templateCache.set(key, { at: Date.now(), templates });
	return templates;
}
