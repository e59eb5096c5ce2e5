import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';

import { isBsuid } from '../core/contactIdentity';
import { classifyMetaError, type ErrorClass, type MetaErrorRule } from '../core/metaErrors';
import { DEFAULT_GRAPH_API_VERSION } from './graphApiVersion';

/** What the transport needs from the `whatsAppCloudApi` credential. */
export interface GraphApiConfig {
	accessToken: string;
	phoneNumberId: string;
	businessAccountId: string;
	apiVersion: string;
	baseUrl: string;
}

export interface GraphApiOptions {
	/** Per-request timeout; a request with no answer by then is "no response received". */
	timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

/*
 * One keep-alive pool per process, shared by every client: at 80–1,000 messages/s a fresh TLS
 * handshake per request would cost more than the request itself. `maxSockets` bounds what one n8n
 * process opens to Meta however many executions run at once, and every socket opened is kept when
 * free: with fewer kept (64 before), each burst after an event-loop stall opened sockets that were
 * closed again right after, and at 1,000/s in n8n a third of all requests paid a TLS handshake
 * (1,603 connections for 5,000 sends), which cost more CPU than the sends themselves.
 */
const agentOptions = { keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 256, maxFreeSockets: 256 };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

/** A Graph API failure, parsed from Meta's error envelope. Never carries the access token. */
export class GraphApiError extends Error {
	/** Meta's numeric error code; undefined when there was no Meta envelope. */
	readonly code?: number;
	readonly subcode?: number;
	/** `error_data.details`: Meta's more precise explanation. */
	readonly details?: string;
	readonly fbtraceId?: string;
	readonly type?: string;
	readonly httpStatus?: number;
	/** False for timeouts, resets and refused connections: the request may or may not have landed. */
	readonly responseReceived: boolean;
	readonly errorClass: ErrorClass;
	readonly rule: MetaErrorRule;

	constructor(init: {
		message: string;
		code?: number;
		subcode?: number;
		details?: string;
		fbtraceId?: string;
		type?: string;
		httpStatus?: number;
		responseReceived: boolean;
	}) {
		super(init.message);
		this.name = 'GraphApiError';
		this.code = init.code;
		this.subcode = init.subcode;
		this.details = init.details;
		this.fbtraceId = init.fbtraceId;
		this.type = init.type;
		this.httpStatus = init.httpStatus;
		this.responseReceived = init.responseReceived;
		this.rule = classifyMetaError(init.code, init.responseReceived ? init.httpStatus : undefined);
		this.errorClass = this.rule.errorClass;
	}

	toJSON() {
		return {
			message: this.message,
			code: this.code,
			subcode: this.subcode,
			details: this.details,
			fbtraceId: this.fbtraceId,
			httpStatus: this.httpStatus,
			responseReceived: this.responseReceived,
			errorClass: this.errorClass,
			meaning: this.rule.meaning,
		};
	}
}

/** Meta's error envelope: `{"error":{"message","type","code","error_subcode","error_data":{"details"},"fbtrace_id"}}`. */
interface MetaErrorEnvelope {
	error?: {
		message?: string;
		type?: string;
		code?: number;
		error_subcode?: number;
		error_data?: { details?: string } | string;
		fbtrace_id?: string;
	};
}

/**
 * Turns whatever axios threw into a GraphApiError. Only fields chosen here leave this function: the
 * axios error itself (whose config holds the Authorization header) is never attached.
 */
export function toGraphApiError(error: unknown): GraphApiError {
	if (error instanceof GraphApiError) return error;
	if (!(error instanceof AxiosError)) {
		return new GraphApiError({
			message: `Graph API call failed: ${String((error as Error)?.message ?? error)}`,
			responseReceived: false,
		});
	}
	const response = error.response;
	if (!response) return noResponseError(error.code, error.message);
	return errorFromResponse(response.status, response.data);
}

/** A request that got no answer (timeout, reset, refused): it may or may not have reached Meta. */
function noResponseError(code: string | undefined, message: string): GraphApiError {
	return new GraphApiError({
		message: `No response received from the Graph API (${code ?? 'network error'}: ${message})`,
		responseReceived: false,
	});
}

/** A non-2xx answer, read from Meta's error envelope when there is one. */
function errorFromResponse(status: number, data: unknown): GraphApiError {
	const envelope = (typeof data === 'object' && data !== null ? data : {}) as MetaErrorEnvelope;
	const metaError = envelope.error;
	if (!metaError || typeof metaError.code !== 'number') {
		return new GraphApiError({
			message: `Graph API answered HTTP ${status} without a Meta error`,
			httpStatus: status,
			responseReceived: true,
		});
	}
	const details = typeof metaError.error_data === 'object' ? metaError.error_data?.details : metaError.error_data;
	return new GraphApiError({
		message: metaError.message ?? `Meta error ${metaError.code}`,
		code: metaError.code,
		subcode: metaError.error_subcode,
		details,
		fbtraceId: metaError.fbtrace_id,
		type: metaError.type,
		httpStatus: status,
		responseReceived: true,
	});
}

// ---- message shapes (Meta's wire format) ----

export type TemplateParameter = Record<string, unknown> & { type: string };

export interface TemplateComponent {
	type: 'header' | 'body' | 'button';
	sub_type?: string;
	index?: string;
	parameters?: TemplateParameter[];
}

export interface TemplateMessage {
	/**
	 * E.164 with the leading `+` (without it Meta prepends the business's own country code), or a BSUID
	 * or parent BSUID, which Meta takes in `recipient` instead of `to`.
	 */
	to: string;
	name: string;
	languageCode: string;
	components?: TemplateComponent[];
	/** Echoed on every status webhook of the message (≤ 512 characters). */
	bizOpaqueCallbackData?: string;
}

export interface SendHooks {
	/**
	 * When the request was handed to the kernel (ms since the epoch): at once on an open connection,
	 * after the handshake on a new one. On the proxy path (axios), where the socket is not observable:
	 * after any answer, and after any failure that does not prove the request never left.
	 */
	onWritten?: (at: number) => void;
}

export interface SendResult {
	messageId: string;
	/** `accepted`, or `held_for_quality_assessment` when Meta paces the template. */
	messageStatus: string;
	input?: string;
	/** Missing when Meta addresses the recipient by a business-scoped user id. */
	waId?: string;
	userId?: string;
}

export interface MessageTemplate {
	id?: string;
	name: string;
	language: string;
	status: string;
	category: string;
	/** `NAMED` for `{{first_name}}` variables (sent with `parameter_name`), else positional. */
	parameter_format?: string;
	components?: Array<Record<string, unknown>>;
}

export interface PhoneNumberInfo {
	id?: string;
	display_phone_number?: string;
	verified_name?: string;
	quality_rating?: string;
	throughput?: { level?: string };
	whatsapp_business_manager_messaging_limit?: string;
	[field: string]: unknown;
}

export function buildTemplateBody(message: TemplateMessage): Record<string, unknown> {
	const template: Record<string, unknown> = {
		name: message.name,
		language: { code: message.languageCode },
	};
	if (message.components && message.components.length > 0) template.components = message.components;
	const body: Record<string, unknown> = {
		messaging_product: 'whatsapp',
		recipient_type: 'individual',
		...(isBsuid(message.to) ? { recipient: message.to } : { to: message.to }),
		type: 'template',
		template,
	};
	if (message.bizOpaqueCallbackData) body.biz_opaque_callback_data = message.bizOpaqueCallbackData;
	return body;
}

const MAX_TEMPLATE_PAGES = 100;

/** Errors that prove a request never left this machine: its first hop (the proxy) could not be reached. */
const NEVER_LEFT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** The proxy variables axios follows (proxy-from-env); with one set, sends go through axios and its proxy. */
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/** The single Graph API client every node uses; nothing else builds Graph URLs or headers. */
/**
 * Calls `onWritten` once the request has been handed to the kernel on a usable connection: at once on
 * a reused one; on a new one only after its TCP connect (and TLS handshake), however early the body
 * was buffered.
 */
function reportWritten(request: http.ClientRequest, secure: boolean, onWritten: (at: number) => void) {
	// Each event fires once; whichever of the two comes second reports.
	let finished = false;
	let connected = true;
	const report = () => {
		if (finished && connected) onWritten(Date.now());
	};
	request.once('socket', (socket) => {
		if (request.reusedSocket) return;
		connected = false;
		socket.once(secure ? 'secureConnect' : 'connect', () => {
			connected = true;
			report();
		});
	});
	request.once('finish', () => {
		finished = true;
		report();
	});
}

export class GraphApiClient {
	private readonly http: AxiosInstance;
	private readonly config: GraphApiConfig;
	private readonly baseUrl: URL;
	private readonly timeoutMs: number;
	private readonly authorization: string;
	/** Sends go straight to node:http(s) unless a proxy is configured (see sendTemplate). */
	private readonly direct: boolean;

	constructor(config: GraphApiConfig, options: GraphApiOptions = {}) {
		this.config = config;
		const baseURL = `${config.baseUrl.replace(/\/+$/, '')}/${config.apiVersion}`;
		this.baseUrl = new URL(baseURL);
		this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
		this.authorization = `Bearer ${config.accessToken}`;
		this.direct = !PROXY_VARIABLES.some((name) => process.env[name]);
		this.http = axios.create({
			baseURL,
			timeout: this.timeoutMs,
			httpAgent,
			httpsAgent,
			headers: { Authorization: this.authorization, 'Content-Type': 'application/json' },
			// Meta answers errors as JSON with a 4xx/5xx status; parse them ourselves.
			validateStatus: (status) => status >= 200 && status < 300,
			maxRedirects: 0,
		});
	}

	/**
	 * One template message. This is the call a campaign makes up to 1,000 times a second, so it goes
	 * straight to node:http(s) over the same keep-alive pool: axios's per-request config merging and
	 * header handling cost about as much CPU as the request itself (see bench/RESULTS.md). Same
	 * timeout, same errors. With a proxy configured it takes axios, which applies the proxy settings.
	 */
	async sendTemplate(message: TemplateMessage, hooks: SendHooks = {}): Promise<SendResult> {
		const path = `/${encodeURIComponent(this.config.phoneNumberId)}/messages`;
		const body = buildTemplateBody(message);
		if (this.direct) return parseSendResponse(await this.postJson(path, body, hooks.onWritten));
		// Through a proxy the request's way to Meta is not observable: unless the error proves it never
		// left this machine (the proxy itself could not be reached), a request without an answer may
		// have reached Meta, and counts as written (in doubt, never resent on a guess).
		const startedAt = Date.now();
		try {
			const response = await this.http.post(path, body);
			hooks.onWritten?.(startedAt);
			return parseSendResponse(response.data);
		} catch (error) {
			if (!(error instanceof AxiosError && error.response) && !NEVER_LEFT.has((error as AxiosError).code ?? ''))
				hooks.onWritten?.(startedAt);
			throw toGraphApiError(error);
		}
	}

	/** POST a JSON body; resolves with the parsed 2xx answer, rejects with a GraphApiError. */
	private postJson(path: string, body: unknown, onWritten?: (at: number) => void): Promise<unknown> {
		const data = Buffer.from(JSON.stringify(body));
		const secure = this.baseUrl.protocol === 'https:';
		return new Promise((resolve, reject) => {
			let settled = false;
			const settle = (outcome: () => void) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				outcome();
			};
			const request = (secure ? https : http).request(
				{
					protocol: this.baseUrl.protocol,
					hostname: this.baseUrl.hostname,
					port: this.baseUrl.port || undefined,
					path: `${this.baseUrl.pathname}${path}`,
					method: 'POST',
					agent: secure ? httpsAgent : httpAgent,
					headers: {
						Accept: 'application/json',
						Authorization: this.authorization,
						'Content-Type': 'application/json',
						'Content-Length': data.length,
					},
				},
				(response) => {
					const chunks: Buffer[] = [];
					response.on('data', (chunk: Buffer) => chunks.push(chunk));
					response.on('error', (error: NodeJS.ErrnoException) =>
						settle(() => reject(noResponseError(error.code, error.message))),
					);
					response.on('end', () => {
						const status = response.statusCode ?? 0;
						const text = Buffer.concat(chunks).toString('utf8');
						let parsed: unknown = text;
						try {
							parsed = text ? JSON.parse(text) : undefined;
						} catch {
							// Not JSON (a proxy's or load balancer's page): the status decides.
						}
						settle(() => (status >= 200 && status < 300 ? resolve(parsed) : reject(errorFromResponse(status, parsed))));
					});
				},
			);
			// The whole exchange, as axios's `timeout`: no complete answer by then is "no response".
			const timer = setTimeout(() => {
				settle(() => reject(noResponseError('ECONNABORTED', `timeout of ${this.timeoutMs}ms exceeded`)));
				request.destroy();
			}, this.timeoutMs);
			request.on('error', (error: NodeJS.ErrnoException) =>
				settle(() => reject(noResponseError(error.code, error.message))),
			);
			if (onWritten) reportWritten(request, secure, onWritten);
			request.end(data);
		});
	}

	/** All templates of the WhatsApp Business Account, following Meta's cursor paging. */
	async listTemplates(options: { pageSize?: number } = {}): Promise<MessageTemplate[]> {
		const templates: MessageTemplate[] = [];
		let after: string | undefined;
		for (let page = 0; page < MAX_TEMPLATE_PAGES; page++) {
			const params: Record<string, string | number> = {
				fields: 'name,language,status,category,parameter_format,components',
				limit: options.pageSize ?? 100,
			};
			if (after) params.after = after;
			const response = await this.call(() =>
				this.http.get(`/${encodeURIComponent(this.config.businessAccountId)}/message_templates`, { params }),
			);
			const data = response.data as {
				data?: MessageTemplate[];
				paging?: { next?: string; cursors?: { after?: string } };
			};
			templates.push(...(data.data ?? []));
			// Meta's `paging.next` is a full URL (with its own host and sometimes the token); follow the cursor instead.
			after = data.paging?.next ? data.paging.cursors?.after : undefined;
			if (!after) return templates;
		}
		return templates;
	}

	async getPhoneNumber(
		fields = 'display_phone_number,verified_name,quality_rating,throughput,whatsapp_business_manager_messaging_limit',
	): Promise<PhoneNumberInfo> {
		const response = await this.call(() =>
			this.http.get(`/${encodeURIComponent(this.config.phoneNumberId)}`, { params: { fields } }),
		);
		return response.data as PhoneNumberInfo;
	}

	private async call(request: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
		try {
			return await request();
		} catch (error) {
			throw toGraphApiError(error);
		}
	}
}

function parseSendResponse(data: unknown): SendResult {
	const body = (data ?? {}) as {
		contacts?: Array<{ input?: string; wa_id?: string; user_id?: string }>;
		messages?: Array<{ id?: string; message_status?: string }>;
	};
	const message = body.messages?.[0];
	if (!message?.id) {
		throw new GraphApiError({
			message: 'Graph API accepted the request but returned no message id',
			responseReceived: true,
			httpStatus: 200,
		});
	}
	const contact = body.contacts?.[0];
	return {
		messageId: message.id,
		messageStatus: message.message_status ?? 'accepted',
		input: contact?.input,
		waId: contact?.wa_id,
		userId: contact?.user_id,
	};
}

/** Reads the credential's fields into a transport config, naming the first one that is missing. */
export function graphApiConfigFromCredentials(credentials: Record<string, unknown>): GraphApiConfig {
	const text = (key: string) => (typeof credentials[key] === 'string' ? (credentials[key] as string).trim() : '');
	const config: GraphApiConfig = {
		accessToken: text('accessToken'),
		phoneNumberId: text('phoneNumberId'),
		businessAccountId: text('businessAccountId'),
		apiVersion: text('apiVersion') || DEFAULT_GRAPH_API_VERSION,
		baseUrl: text('baseUrl') || 'https://graph.facebook.com',
	};
	if (!config.accessToken) throw new Error('The WhatsApp Cloud API credential has no access token');
	if (!/^v\d+\.\d+$/.test(config.apiVersion)) {
		throw new Error(`Graph API version "${config.apiVersion}" is not of the form ${DEFAULT_GRAPH_API_VERSION}`);
	}
	return config;
}
