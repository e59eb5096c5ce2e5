import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { decideConsent, UNDELIVERABLE_WINDOW_DAYS, type ConsentRules, type CrmConsent } from '../core/consent';
import { judgeShare, type GuardAction } from '../core/runGuards';
import { readContacts, type Contact } from '../shared/contacts';
import { readItemValue } from '../shared/itemValues';
import { iso, toCategories, toFlag, toTime } from '../shared/values';
import { getComplianceStore, whatsAppComplianceRedisTest } from '../store/storeParameter';
import { DAY_MS } from '../core/time';
import { isMessageCategory, type ConsentScope, type MessageCategory } from '../core/types';
import type { ComplianceStore } from '../store/types';
import { consentGateProperties } from './description';

export class WhatsAppConsentGate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Consent Gate',
		name: 'whatsAppConsentGate',
		icon: 'file:whatsAppConsentGate.svg',
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ {check: "Check " + $parameter["category"], recordOptIn: "Record opt-in", recordOptOut: "Record opt-out", getHistory: "Get history", importSuppression: "Import suppression list", forget: "Forget contact"}[$parameter["operation"]] }}',
		description:
			'Let through only contacts who opted in to WhatsApp messages, honour every opt-out, and keep proof of consent',
		defaults: { name: 'WhatsApp Consent Gate' },
		inputs: ['main'],
		// Check routes to Allowed and Blocked; the other operations have one output.
		outputs: `={{ $parameter["operation"] === "check" ? [{ "type": "main", "displayName": "Allowed" }, { "type": "main", "displayName": "Blocked" }] : [{ "type": "main" }] }}`,
		credentials: [
			{
				name: 'whatsAppComplianceRedisApi',
				required: true,
				displayOptions: { show: { store: ['redis'] } },
				testedBy: 'whatsAppComplianceRedisTest',
			},
		],
		properties: consentGateProperties,
	};

	methods = { credentialTest: { whatsAppComplianceRedisTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		const store = await getComplianceStore(this);
		const items = this.getInputData();
		const contacts = await readContacts(this, items, store);
		switch (operation) {
			case 'check':
				return await check(this, items, store, contacts);
			case 'recordOptIn':
			case 'recordOptOut':
				return [await record(this, items, store, contacts, operation === 'recordOptIn' ? 'opt_in' : 'opt_out')];
			case 'getHistory':
				return [await history(items, store, contacts)];
			case 'importSuppression':
				return [await importSuppression(this, items, store, contacts)];
			case 'forget':
				return [await forget(items, store, contacts)];
			default:
				throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
		}
	}
}

const withResult = (item: INodeExecutionData, itemIndex: number, consent: IDataObject): INodeExecutionData => ({
	json: { ...item.json, consent },
	pairedItem: { item: itemIndex },
});

async function check(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	store: ComplianceStore,
	contacts: Contact[],
): Promise<INodeExecutionData[][]> {
	const node = context.getNode();
	const options = context.getNodeParameter('checkOptions', 0, {}) as {
		businessName?: string;
		maxConsentAgeMonths?: number;
		inactivityDays?: number;
		inactivityCategories?: MessageCategory[];
		undeliverableDays?: number;
		optOutRateAction?: GuardAction;
		optOutThreshold?: number;
		minimumRunSize?: number;
	};
	const useCrm = context.getNodeParameter('useCrmConsent', 0, true) as boolean;
	const categoryIsPerItem = String(node.parameters.category ?? '').startsWith('=');
	const fixedCategory = context.getNodeParameter('category', 0, 'marketing') as MessageCategory;
	const now = Date.now();
	const rules: Omit<ConsentRules, 'category'> = {
		now,
		crmIsEnough: useCrm && (context.getNodeParameter('crmIsEnough', 0, true) as boolean),
		requireBusinessName: options.businessName?.trim() || undefined,
		maxConsentAgeMs: options.maxConsentAgeMonths ? options.maxConsentAgeMonths * 30.44 * DAY_MS : undefined,
		inactivityMs: options.inactivityDays ? options.inactivityDays * DAY_MS : undefined,
		inactivityCategories: options.inactivityCategories?.length ? options.inactivityCategories : undefined,
		undeliverableWithinMs: (options.undeliverableDays ?? UNDELIVERABLE_WINDOW_DAYS) * DAY_MS,
	};

	const keys = contacts.flatMap((c) => ('key' in c ? [c.key] : []));
	const states = await store.ledger.contactStates(keys);
	const allowed: INodeExecutionData[] = [];
	const blocked: INodeExecutionData[] = [];
	const blockReasons: string[] = [];

	items.forEach((item, itemIndex) => {
		const contact = contacts[itemIndex];
		const category = categoryIsPerItem
			? (context.getNodeParameter('category', itemIndex) as MessageCategory)
			: fixedCategory;
		if ('invalid' in contact) {
			blocked.push(
				withResult(item, itemIndex, {
					allowed: false,
					category,
					reason: 'INVALID_NUMBER',
					detail: contact.invalid,
					since: null,
				}),
			);
			blockReasons.push('INVALID_NUMBER');
			return;
		}
		if (!isMessageCategory(category)) {
			throw new NodeOperationError(
				node,
				`Message category "${String(category)}" is not marketing, utility or authentication`,
				{ itemIndex },
			);
		}
		const crm: CrmConsent | undefined = useCrm
			? {
					optedIn: toFlag(readItemValue(context, 'crmOptedIn', itemIndex, item)),
					optInAt: toTime(readItemValue(context, 'crmOptInDate', itemIndex, item)),
					categories: toCategories(readItemValue(context, 'crmCategories', itemIndex, item)),
					wording: stringOrUndefined(readItemValue(context, 'crmWording', itemIndex, item)),
				}
			: undefined;
		const decision = decideConsent(crm, states.get(contact.key)!, { ...rules, category });
		if (decision.allowed) {
			allowed.push(
				withResult(item, itemIndex, { allowed: true, category, basis: decision.basis, optInAt: iso(decision.optInAt) }),
			);
		} else {
			blockReasons.push(decision.reason);
			blocked.push(
				withResult(item, itemIndex, { allowed: false, category, reason: decision.reason, since: iso(decision.since) }),
			);
		}
	});

	const action = options.optOutRateAction ?? 'warn';
	if (action !== 'off') {
		const verdict = judgeShare(
			blockReasons.filter((r) => r === 'OPTED_OUT'),
			items.length,
			'opted out',
			{ thresholdPercent: options.optOutThreshold ?? 3, minimumRunSize: options.minimumRunSize ?? 20 },
		);
		if (verdict.exceeded && action === 'stop') {
			throw new NodeOperationError(node, `Opt-out rate check: ${verdict.summary}`, {
				description:
					'Many opted-out contacts suggest a stale list. Refresh the list from the CRM, or set "Opt-Out Rate Check" to continue with a warning.',
			});
		}
		if (verdict.exceeded) {
			for (const item of [...allowed, ...blocked])
				(item.json.consent as IDataObject).optOutRateWarning = verdict.summary;
			context.logger.warn(`WhatsApp Consent Gate: ${verdict.summary}`);
		}
	}
	return [allowed, blocked];
}

function stringOrUndefined(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() ? value : undefined;
}

function eventTime(
	context: IExecuteFunctions,
	itemIndex: number,
	item: INodeExecutionData,
	now: number,
): number | string {
	const raw = readItemValue(context, 'consentAt', itemIndex, item);
	if (raw === undefined || raw === null || raw === '') return now;
	return toTime(raw) ?? `"${String(raw)}" is not a date`;
}

async function record(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	store: ComplianceStore,
	contacts: Contact[],
	action: 'opt_in' | 'opt_out',
): Promise<INodeExecutionData[]> {
	const now = Date.now();
	const out: INodeExecutionData[] = [];
	const events: Parameters<ComplianceStore['ledger']['recordConsent']>[0] = [];
	items.forEach((item, itemIndex) => {
		const contact = contacts[itemIndex];
		const categories = context.getNodeParameter(
			action === 'opt_in' ? 'optInCategories' : 'optOutCategories',
			itemIndex,
			[],
		) as ConsentScope[];
		const at = eventTime(context, itemIndex, item, now);
		const problem =
			'invalid' in contact
				? 'INVALID_NUMBER'
				: typeof at === 'string'
					? 'INVALID_DATE'
					: categories.length === 0
						? 'NO_CATEGORY'
						: undefined;
		if (problem) {
			out.push(
				withResult(item, itemIndex, {
					recorded: false,
					reason: problem,
					detail: 'invalid' in contact ? contact.invalid : typeof at === 'string' ? at : 'Choose at least one category',
				}),
			);
			return;
		}
		const text = (name: string) => stringOrUndefined(context.getNodeParameter(name, itemIndex, ''));
		events.push({
			contactKey: (contact as { key: string }).key,
			action,
			categories,
			at: at as number,
			source: text('source'),
			wording: action === 'opt_in' ? text('wording') : undefined,
			businessName: action === 'opt_in' ? text('businessName') : undefined,
			collectedBy: text('collectedBy'),
		});
		out.push(withResult(item, itemIndex, { recorded: true, action, categories, at: iso(at as number) }));
	});
	await store.ledger.recordConsent(events);
	return out;
}

async function history(
	items: INodeExecutionData[],
	store: ComplianceStore,
	contacts: Contact[],
): Promise<INodeExecutionData[]> {
	return await Promise.all(
		items.map(async (item, itemIndex) => {
			const contact = contacts[itemIndex];
			if ('invalid' in contact)
				return withResult(item, itemIndex, { history: [], reason: 'INVALID_NUMBER', detail: contact.invalid });
			const events = await store.ledger.consentHistory(contact.key);
			const state = (await store.ledger.contactStates([contact.key])).get(contact.key)!;
			return withResult(item, itemIndex, {
				history: events.map((e) => ({
					action: e.action,
					category: e.category,
					at: iso(e.at),
					source: e.source ?? null,
					wording: e.wording ?? null,
					businessName: e.businessName ?? null,
					collectedBy: e.collectedBy ?? null,
					recordedAt: iso(e.recordedAt),
				})),
				suppressions: state.suppressions.map((s) => ({ category: s.category, reason: s.reason, at: iso(s.at) })),
			});
		}),
	);
}

async function importSuppression(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	store: ComplianceStore,
	contacts: Contact[],
): Promise<INodeExecutionData[]> {
	const now = Date.now();
	const entries: Parameters<ComplianceStore['ledger']['suppress']>[0] = [];
	const out = items.map((item, itemIndex) => {
		const contact = contacts[itemIndex];
		const categories = context.getNodeParameter('optOutCategories', itemIndex, ['all']) as ConsentScope[];
		const at = eventTime(context, itemIndex, item, now);
		if ('invalid' in contact || typeof at === 'string') {
			return withResult(item, itemIndex, {
				suppressed: false,
				reason: 'invalid' in contact ? 'INVALID_NUMBER' : 'INVALID_DATE',
				detail: 'invalid' in contact ? contact.invalid : at,
			});
		}
		for (const category of categories) entries.push({ contactKey: contact.key, category, reason: 'IMPORTED', at });
		return withResult(item, itemIndex, { suppressed: true, categories, at: iso(at) });
	});
	await store.ledger.suppress(entries);
	return out;
}

async function forget(
	items: INodeExecutionData[],
	store: ComplianceStore,
	contacts: Contact[],
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (const [itemIndex, item] of items.entries()) {
		const contact = contacts[itemIndex];
		if ('invalid' in contact) {
			out.push(withResult(item, itemIndex, { forgotten: false, reason: 'INVALID_NUMBER', detail: contact.invalid }));
			continue;
		}
		const { eventsDeleted } = await store.ledger.forgetContact(contact.key, Date.now());
		out.push(withResult(item, itemIndex, { forgotten: true, eventsDeleted, stillSuppressed: true }));
	}
	return out;
}
