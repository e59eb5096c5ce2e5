/**
 * What the two ways of receiving Meta's webhooks share: the panel (store, what starts the workflow,
 * automatic pause, keywords), the outputs, and the handling of one request (verification challenge,
 * size, signature, envelope, processing, which items start an execution). The Delivery Monitor takes
 * requests through n8n's webhook URL; the Own Port variant on its own HTTP server. Both call this, so a
 * webhook means the same whichever receives it.
 */
import { timingSafeEqual } from 'node:crypto';

import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INodeExecutionData,
	INodeProperties,
	INodeTypeDescription,
} from 'n8n-workflow';

import { OPT_OUT_KEYWORDS, RESUBSCRIBE_KEYWORDS } from '../core/keywords';
import { parseEnvelope, verifySignature } from '../core/webhooks';
import { storeProperty } from '../store/storeParameter';
import type { ComplianceStore } from '../store/types';
import { processDelivery, type MonitorOptions } from './processDelivery';

/** Meta sends up to 1,000 updates and 3 MB per POST. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
const MAX_UPDATES = 1000;
const DEFAULT_OPT_OUT_PAYLOADS = 'STOP_PROMOS,STOP,UNSUBSCRIBE';

export const META_SUBSCRIPTIONS =
	'messages, user_preferences, message_template_status_update, phone_number_quality_update and account_update';

export const monitorOutputs: Pick<INodeTypeDescription, 'outputs' | 'outputNames'> = {
	// Four outputs, one per kind of event.
	outputs: ['main', 'main', 'main', 'main'],
	outputNames: ['Status', 'Inbound Message', 'Opt-Out', 'Alert'],
};

export const monitorCredentials: INodeTypeDescription['credentials'] = [
	{ name: 'whatsAppCloudApi', required: true, testedBy: 'whatsAppCloudApiTest' },
	{
		name: 'whatsAppComplianceRedisApi',
		required: true,
		displayOptions: { show: { store: ['redis'] } },
		testedBy: 'whatsAppComplianceRedisTest',
	},
];

/** Every parameter after the receiving-specific ones. */
export const monitorProperties: INodeProperties[] = [
	storeProperty,
	{
		displayName: 'Statuses That Start the Workflow',
		name: 'emitStatuses',
		type: 'multiOptions',
		options: [
			{ name: 'Delivered', value: 'delivered' },
			{ name: 'Failed', value: 'failed' },
			{ name: 'Read', value: 'read' },
			{ name: 'Sent', value: 'sent' },
		],
		default: ['failed'],
		description:
			'Every status is recorded in the store; only these start an execution (a 100,000-message campaign should not start 300,000 executions)',
	},
	{
		displayName: 'Emit Inbound Messages',
		name: 'emitInbound',
		type: 'boolean',
		default: true,
		description: 'Whether replies (other than opt-out keywords) start the workflow on the Inbound Message output',
	},
	{
		displayName: 'Emit Opt-Outs',
		name: 'emitOptOuts',
		type: 'boolean',
		default: true,
		description: 'Whether opt-outs and resubscriptions start the workflow on the Opt-Out output',
	},
	{
		displayName: 'Emit Alerts',
		name: 'emitAlerts',
		type: 'boolean',
		default: true,
		description: 'Whether pauses and template, quality and account events start the workflow on the Alert output',
	},
	{
		displayName: 'Automatic Pause',
		name: 'autoPause',
		type: 'boolean',
		default: true,
		description:
			'Whether to pause a campaign whose delivery rate falls or whose opt-out rate rises past the thresholds',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Maximum Opt-Out Rate (%)',
				name: 'maxOptOutRate',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
				default: 2,
			},
			{
				displayName: 'Minimum Delivery Rate (%)',
				name: 'minDeliveryRate',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100, numberPrecision: 1 },
				default: 90,
				description: 'Healthy senders see more than 95 %',
			},
			{
				displayName: 'Minimum Final Statuses Before Judging',
				name: 'minimumFinal',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
				description: 'Delivered plus failed messages a campaign needs before its rates can pause it',
			},
			{
				displayName: 'Opt-Out Button Payloads',
				name: 'optOutPayloads',
				type: 'string',
				default: 'STOP_PROMOS,STOP,UNSUBSCRIBE',
				description: 'Comma-separated quick-reply payloads that opt the contact out',
			},
			{
				displayName: 'Opt-Out Keywords',
				name: 'optOutKeywords',
				type: 'string',
				default: OPT_OUT_KEYWORDS.join(','),
				description:
					'Comma-separated; a reply equal to one (case and accents ignored) opts the contact out of everything',
			},
			{
				displayName: 'Resubscribe Keywords',
				name: 'resubscribeKeywords',
				type: 'string',
				default: RESUBSCRIBE_KEYWORDS.join(','),
				description: 'Comma-separated; a reply equal to one records a new opt-in (source whatsapp-keyword)',
			},
			{
				displayName: 'Resume Restores Consent',
				name: 'resumeRestoresConsent',
				type: 'boolean',
				default: false,
				description: 'Whether a contact turning marketing back on inside WhatsApp counts as a new marketing opt-in',
			},
		],
	},
];

/** How a node reads its own parameters (webhook and trigger contexts alike). */
export type ReadParameter = (name: string, fallback: unknown) => unknown;

const list = (text: string) =>
	text
		.split(',')
		.map((word) => word.trim())
		.filter(Boolean);

export function monitorOptions(parameter: ReadParameter, now: number): MonitorOptions {
	const options = parameter('options', {}) as IDataObject;
	return {
		optOutKeywords: list(String(options.optOutKeywords ?? OPT_OUT_KEYWORDS.join(','))),
		resubscribeKeywords: list(String(options.resubscribeKeywords ?? RESUBSCRIBE_KEYWORDS.join(','))),
		optOutPayloads: list(String(options.optOutPayloads ?? DEFAULT_OPT_OUT_PAYLOADS)),
		resumeRestoresConsent: options.resumeRestoresConsent === true,
		autoPause: (parameter('autoPause', true) as boolean)
			? {
					minimumFinal: Number(options.minimumFinal ?? 100),
					minDeliveryRate: Number(options.minDeliveryRate ?? 90) / 100,
					maxOptOutRate: Number(options.maxOptOutRate ?? 2) / 100,
				}
			: undefined,
		now,
	};
}

/** Which outputs a delivery's items go to; undefined when nothing starts an execution. */
export interface EmitSettings {
	statuses: ReadonlySet<string>;
	inbound: boolean;
	optOuts: boolean;
	alerts: boolean;
}

export function emitSettings(parameter: ReadParameter): EmitSettings {
	return {
		statuses: new Set(parameter('emitStatuses', ['failed']) as string[]),
		inbound: parameter('emitInbound', true) as boolean,
		optOuts: parameter('emitOptOuts', true) as boolean,
		alerts: parameter('emitAlerts', true) as boolean,
	};
}

/** The answer to Meta's GET verification request: the challenge when the verify token matches. */
export function answerChallenge(query: IDataObject, credentials: ICredentialDataDecryptedObject): DeliveryAnswer {
	const expected = Buffer.from(String(credentials.verifyToken ?? ''));
	const given = Buffer.from(String(query['hub.verify_token'] ?? ''));
	const matches = expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given);
	if (query['hub.mode'] === 'subscribe' && matches) return { status: 200, body: String(query['hub.challenge'] ?? '') };
	return { status: 403 };
}

export interface DeliveryAnswer {
	status: number;
	body?: string;
	/** Items per output when the delivery starts an execution. */
	outputs?: INodeExecutionData[][];
}

export interface DeliverySettings {
	appSecret: string;
	store: () => Promise<ComplianceStore>;
	options: () => MonitorOptions;
	emit: EmitSettings;
}

/**
 * One POST from Meta: refused (400/401/413) when it is not a signed WhatsApp webhook within Meta's
 * limits; otherwise applied to the store and answered 200, with the items that start an execution.
 * A store failure is thrown: the caller answers 5xx so that Meta retries.
 */
export async function receiveDelivery(
	raw: Buffer,
	signature: string | string[] | undefined,
	settings: DeliverySettings,
): Promise<DeliveryAnswer> {
	if (raw.length > MAX_BODY_BYTES) return { status: 413 };
	if (!verifySignature(raw, signature, settings.appSecret)) return { status: 401 };
	let body: unknown;
	try {
		body = JSON.parse(raw.toString('utf8'));
	} catch {
		return { status: 400, body: 'Body is not JSON' };
	}
	const events = parseEnvelope(body);
	if (!events) return { status: 400, body: 'Not a WhatsApp Business Account webhook' };
	if (events.length > MAX_UPDATES) return { status: 413 };

	const emitted = await processDelivery(await settings.store(), events, settings.options());
	const { emit } = settings;
	const toItems = (rows: Array<Record<string, unknown>>): INodeExecutionData[] =>
		rows.map((json) => ({ json: json as IDataObject }));
	const outputs = [
		toItems(emitted.status.filter((s) => emit.statuses.has(String(s.status)))),
		emit.inbound ? toItems(emitted.inbound) : [],
		emit.optOuts ? toItems(emitted.optOut) : [],
		emit.alerts ? toItems(emitted.alert) : [],
	];
	// Routine statuses are recorded above and start nothing: Meta only needs its 200.
	if (outputs.every((items) => items.length === 0)) return { status: 200, body: 'OK' };
	return { status: 200, body: 'OK', outputs };
}
