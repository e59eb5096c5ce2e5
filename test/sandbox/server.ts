/**
 * A local stand-in for the WhatsApp Business Cloud API (Graph API): a real HTTP server on loopback
 * that answers the way Meta does for everything this package uses, enforces Meta's limits, and
 * posts signed status webhooks. Tests, benchmarks and the demo use it instead of a Meta account.
 *
 * Only node: built-ins, and nothing from nodes/: it is the independent ground truth.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
	createServer,
	request as httpRequest,
	type IncomingMessage,
	type Server,
	type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { checkTemplateComponents, DEFAULT_TEMPLATES, type TemplateDefinition } from './templates.ts';

export type { TemplateDefinition } from './templates.ts';

export interface SandboxPhoneNumber {
	id: string;
	display_phone_number: string;
	verified_name: string;
	quality_rating: 'GREEN' | 'YELLOW' | 'RED';
	/** Messages per second this number may send; beyond it: 130429. */
	throughputPerSecond: number;
	messagingLimit: string;
}

/** What happens to a message sent to one recipient (keyed by the digits of the number). */
export type RecipientOutcome =
	/** The send call itself fails with this Meta code. */
	| { kind: 'error'; code: number }
	/** Accepted, then a `failed` status webhook with this code (131026, 131049, 131050…). */
	| { kind: 'failLater'; code: number }
	/** Accepted and delivered, never read. */
	| { kind: 'noRead' };

export type Fault = 'http500' | 'http503' | 'hang' | 'reset';

export interface WebhookOptions {
	url: string;
	appSecret: string;
	/** Status updates per POST (Meta sends up to 1,000). */
	batchSize?: number;
	/** How long updates wait to be batched. */
	batchDelayMs?: number;
	/** Delay between sent → delivered → read for one message. */
	statusDelayMs?: number;
	/** Share (0–1) of POSTs sent twice, as Meta's retries do. */
	duplicateRate?: number;
	/** Deliver each batch's statuses in reverse order (`read` before `delivered`). */
	outOfOrder?: boolean;
	/** Statuses to post for an accepted message (default sent, delivered, read). */
	statuses?: Array<'sent' | 'delivered' | 'read'>;
	/**
	 * Retry a POST that failed or was not answered 2xx, as Meta does (for days): after 1 s, doubling up
	 * to 8 s, for up to this many attempts in all (default 1: no retry).
	 */
	attempts?: number;
}

export interface SandboxOptions {
	host?: string;
	/** 0 (default) picks a free port. */
	port?: number;
	accessToken?: string;
	businessAccountId?: string;
	phoneNumbers?: Array<Partial<SandboxPhoneNumber> & { id: string }>;
	templates?: TemplateDefinition[];
	/** Pair rate: a token bucket per (phone number, recipient): `burst` messages, refilled one per `refillMs`. */
	pairRate?: { burst: number; refillMs: number };
	latencyMs?: number;
	jitterMs?: number;
	webhook?: WebhookOptions;
	/** Templates whose sends answer `held_for_quality_assessment` instead of `accepted`. */
	heldTemplates?: string[];
	/** Keep request bodies in the log (large runs can turn this off). */
	recordBodies?: boolean;
	/**
	 * Serve HTTPS with this key and certificate (e.g. one for graph.facebook.com, for clients whose base
	 * URL cannot be changed, such as n8n's built-in WhatsApp node, routed here by the benchmark).
	 */
	tls?: { key: string; cert: string };
}

export interface RecordedRequest {
	method: string;
	path: string;
	query: Record<string, string>;
	authorization?: string;
	body?: unknown;
	receivedAt: number;
	status: number;
	/** Meta error code answered, if any. */
	errorCode?: number;
	/** Message id answered, if accepted. */
	messageId?: string;
	/** Recipient (`to`) of a send. */
	to?: string;
}

export interface SandboxCounters {
	/** TCP connections accepted (keep-alive clients reuse them). */
	connections: number;
	requests: number;
	sendRequests: number;
	accepted: number;
	errorsByCode: Record<string, number>;
	faults: number;
	webhookPosts: number;
	webhookFailures: number;
	/** POSTs sent again after a failure. */
	webhookRetries: number;
	statusesPosted: Record<string, number>;
}

interface QueuedUpdate {
	phoneNumberId: string;
	value: Record<string, unknown>;
	field: string;
}

const GRAPH_VERSION = /^\/(v\d+\.\d+)\/(.+)$/;

/** Meta escapes non-ASCII characters as \uXXXX in webhook bodies and signs those exact bytes. */
export function metaJson(value: unknown): string {
	return JSON.stringify(value).replace(
		/[\u007f-\uffff]/g,
		(c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
	);
}

export function signWebhookBody(appSecret: string, rawBody: string | Buffer): string {
	return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

function metaError(code: number, message: string, details: string, subcode?: number) {
	return {
		error: {
			message,
			type: code === 190 ? 'OAuthException' : 'OAuthException',
			code,
			error_data: { messaging_product: 'whatsapp', details },
			...(subcode === undefined ? {} : { error_subcode: subcode }),
			fbtrace_id: randomBytes(12).toString('base64url'),
		},
	};
}

/** Meta's meaning for the codes the sandbox can script as outcomes or webhook failures. */
const OUTCOME_TEXT: Record<number, { title: string; details: string; http: number }> = {
	131026: { title: 'Message undeliverable', details: 'Message Undeliverable.', http: 400 },
	131047: {
		title: 'Re-engagement message',
		details: 'More than 24 hours have passed since the recipient last replied to the sender number.',
		http: 400,
	},
	131049: {
		title: 'This message was not delivered to maintain healthy ecosystem engagement.',
		details: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
		http: 400,
	},
	131050: {
		title:
			'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
		details: 'The user has stopped marketing messages.',
		http: 400,
	},
	131048: {
		title: 'Spam rate limit hit',
		details:
			'Message failed to send because there are restrictions on how many messages can be sent from this phone number.',
		http: 400,
	},
	131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.', http: 500 },
	131016: { title: 'Service unavailable', details: 'A service is temporarily unavailable.', http: 503 },
	131057: { title: 'Account in maintenance mode', details: 'Business Account is in maintenance mode', http: 500 },
	368: {
		title: 'Temporarily blocked for policies violations',
		details:
			'The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.',
		http: 403,
	},
	131031: {
		title: 'Account has been locked',
		details: 'The WhatsApp Business Account associated with the app has been restricted or disabled.',
		http: 403,
	},
	131042: {
		title: 'Business eligibility payment issue',
		details: 'There was an error related to your payment method.',
		http: 400,
	},
	130497: {
		title: 'Business account is restricted from messaging users in this country.',
		details: 'The business is barred from messaging users in this country.',
		http: 403,
	},
	4: { title: 'Application request limit reached', details: 'The app has reached its API call rate limit.', http: 400 },
	80007: {
		title: 'Rate limit issues',
		details: 'The WhatsApp Business Account has reached its rate limit.',
		http: 400,
	},
	2: { title: 'API service', details: 'Temporary due to downtime or due to being overloaded.', http: 503 },
	133010: {
		title: 'Phone number not registered',
		details: 'The phone number is not registered on the WhatsApp Business Platform.',
		http: 400,
	},
	132015: {
		title: 'Template is paused',
		details: 'Template is paused due to low quality so it cannot be sent in a template message.',
		http: 400,
	},
	132016: {
		title: 'Template is disabled',
		details: 'Template has been paused too many times due to low quality and is now permanently disabled.',
		http: 400,
	},
	130472: {
		title: "User's number is part of an experiment",
		details: 'Message was not sent as part of an experiment.',
		http: 400,
	},
};

function outcomeText(code: number) {
	return OUTCOME_TEXT[code] ?? { title: `Error ${code}`, details: `Scripted error ${code}`, http: 400 };
}

export class CloudApiSandbox {
	readonly accessToken: string;
	readonly businessAccountId: string;
	readonly phoneNumbers = new Map<string, SandboxPhoneNumber>();
	templates: TemplateDefinition[];
	readonly requests: RecordedRequest[] = [];
	readonly counters: SandboxCounters = {
		connections: 0,
		requests: 0,
		sendRequests: 0,
		accepted: 0,
		errorsByCode: {},
		faults: 0,
		webhookPosts: 0,
		webhookFailures: 0,
		webhookRetries: 0,
		statusesPosted: {},
	};
	/** Every status update the sandbox generated, in generation order (ground truth for the monitor). */
	readonly statusLog: Array<{ id: string; status: string; recipient: string; code?: number; biz?: string }> = [];

	latencyMs: number;
	jitterMs: number;
	pairRate: { burst: number; refillMs: number };
	webhook?: WebhookOptions;
	heldTemplates: Set<string>;
	recordBodies: boolean;

	private readonly options: SandboxOptions;
	private server?: Server;
	private readonly sockets = new Set<Socket>();
	private readonly outcomes = new Map<string, RecipientOutcome>();
	private readonly faultQueue: Fault[] = [];
	private readonly recipientFaults = new Map<string, Fault[]>();
	/** Number digits → the BSUID Meta pairs with it in status webhooks. */
	private readonly bsuids = new Map<string, string>();
	/** Number digits → the wa_id Meta answers with when it differs (Mexico's 521, Brazil without the 9). */
	private readonly waIds = new Map<string, string>();
	private readonly throughputWindows = new Map<string, number[]>();
	private readonly pairBuckets = new Map<string, { tokens: number; at: number }>();
	private readonly timers = new Set<NodeJS.Timeout>();
	private webhookQueue: QueuedUpdate[] = [];
	private webhookTimer?: NodeJS.Timeout;
	private readonly inflightWebhooks = new Set<Promise<void>>();
	private messageCounter = 0;
	private closed = false;

	constructor(options: SandboxOptions = {}) {
		this.options = options;
		this.accessToken = options.accessToken ?? 'sandbox-token';
		this.businessAccountId = options.businessAccountId ?? '102290129340398';
		for (const phone of options.phoneNumbers ?? [{ id: '106540352242922' }]) {
			this.phoneNumbers.set(phone.id, {
				display_phone_number: '+1 555-010-0000',
				verified_name: 'Sandbox Shop',
				quality_rating: 'GREEN',
				throughputPerSecond: 80,
				messagingLimit: 'TIER_10K',
				...phone,
			});
		}
		this.templates = options.templates ?? structuredClone(DEFAULT_TEMPLATES);
		this.latencyMs = options.latencyMs ?? 0;
		this.jitterMs = options.jitterMs ?? 0;
		this.pairRate = options.pairRate ?? { burst: 45, refillMs: 6_000 };
		this.webhook = options.webhook;
		this.heldTemplates = new Set(options.heldTemplates ?? []);
		this.recordBodies = options.recordBodies ?? true;
	}

	static async start(options: SandboxOptions = {}): Promise<CloudApiSandbox> {
		const sandbox = new CloudApiSandbox(options);
		await sandbox.listen();
		return sandbox;
	}

	get port(): number {
		return (this.server?.address() as AddressInfo).port;
	}

	/** The value for the credential's Base URL. */
	get baseUrl(): string {
		return `${this.options.tls ? 'https' : 'http'}://${this.options.host ?? '127.0.0.1'}:${this.port}`;
	}

	get defaultPhoneNumberId(): string {
		return [...this.phoneNumbers.keys()][0];
	}

	/** Credential data for `whatsAppCloudApi` pointing at this sandbox. */
	credentials(extra: Record<string, string> = {}) {
		return {
			accessToken: this.accessToken,
			phoneNumberId: this.defaultPhoneNumberId,
			businessAccountId: this.businessAccountId,
			apiVersion: 'v26.0',
			baseUrl: this.baseUrl,
			appSecret: this.webhook?.appSecret ?? 'sandbox-app-secret',
			verifyToken: 'sandbox-verify-token',
			...extra,
		};
	}

	// ---- scripting ----

	/** Script what happens to messages for a recipient (any format; matched on digits). */
	setOutcome(recipient: string, outcome: RecipientOutcome) {
		this.outcomes.set(who(recipient), outcome);
	}

	/** Forgets a recipient's scripted outcome. */
	clearOutcome(recipient: string) {
		this.outcomes.delete(who(recipient));
	}

	/** Forgets every scripted recipient outcome: everyone is delivered again. */
	clearOutcomes() {
		this.outcomes.clear();
	}

	/** The next `count` send requests (any recipient) meet this fault. */
	failNext(fault: Fault, count = 1) {
		for (let i = 0; i < count; i++) this.faultQueue.push(fault);
	}

	/** The next `count` sends to this recipient meet this fault. */
	failRecipient(recipient: string, fault: Fault, count = 1) {
		const list = this.recipientFaults.get(who(recipient)) ?? [];
		for (let i = 0; i < count; i++) list.push(fault);
		this.recipientFaults.set(who(recipient), list);
	}

	setThroughput(perSecond: number, phoneNumberId = this.defaultPhoneNumberId) {
		const phone = this.phoneNumbers.get(phoneNumberId);
		if (!phone) throw new Error(`unknown phone number id ${phoneNumberId}`);
		phone.throughputPerSecond = perSecond;
	}

	/** Sends recorded so far (the messages the recipients would have received). */
	acceptedSends(): RecordedRequest[] {
		return this.requests.filter((r) => r.messageId !== undefined);
	}

	resetLog() {
		this.requests.length = 0;
		this.statusLog.length = 0;
		Object.assign(this.counters, {
			connections: 0,
			requests: 0,
			sendRequests: 0,
			accepted: 0,
			errorsByCode: {},
			faults: 0,
			webhookPosts: 0,
			webhookFailures: 0,
			webhookRetries: 0,
			statusesPosted: {},
		});
	}

	/** Forgets the throughput windows and pair-rate buckets (a fresh minute, as far as limits go). */
	resetLimits() {
		this.throughputWindows.clear();
		this.pairBuckets.clear();
	}

	// ---- webhooks ----

	/**
	 * Meta's wa_id for this number differs from it: an account older than Mexico's 2019 change keeps
	 * `521…`, an older Brazilian one its 12 digits without the mobile 9 (issue #17's measurements). The
	 * send response and the statuses name the person by this wa_id.
	 */
	setWaId(number: string, waId: string) {
		this.waIds.set(digits(number), digits(waId));
	}

	/** Meta knows this BSUID for the number: statuses of messages to it carry the pairing. */
	setBsuid(number: string, bsuid: string) {
		this.bsuids.set(digits(number), bsuid);
	}

	/**
	 * The person behind `oldNumber` moved to `newNumber`: Meta's `system` message `user_changed_number`,
	 * sent by the old number, with the new wa_id, and (Meta's system messages reference, Aug 2026) the old
	 * and the new BSUID, since a number change regenerates the BSUID. No `contacts` array.
	 */
	injectNumberChange(oldNumber: string, newNumber: string, newBsuid?: string) {
		const wamid = this.nextMessageId();
		const [from, to] = [digits(oldNumber), digits(newNumber)];
		const previous = this.bsuids.get(from);
		if (newBsuid) this.bsuids.set(to, newBsuid);
		this.queue({
			phoneNumberId: this.defaultPhoneNumberId,
			field: 'messages',
			value: {
				messages: [
					{
						from,
						id: wamid,
						timestamp: unixNow(),
						type: 'system',
						system: {
							body: `User Sandbox User changed from ${from} to ${to}`,
							wa_id: to,
							type: 'user_changed_number',
							...(newBsuid ? { user_id: newBsuid } : {}),
							...(previous ? { previous_user_id: previous } : {}),
						},
					},
				],
			},
		});
		return wamid;
	}

	/**
	 * The person's BSUID changed and no number can be shared: Meta's `system` message
	 * `user_changed_user_id`, with no `from` and only the BSUIDs before and after (Chatwoot's fixture).
	 * Numbers paired with the previous BSUID are paired with the new one from now on.
	 */
	injectBsuidChange(previous: string, next: string) {
		const wamid = this.nextMessageId();
		for (const [number, bsuid] of this.bsuids) if (bsuid === previous) this.bsuids.set(number, next);
		this.queue({
			phoneNumberId: this.defaultPhoneNumberId,
			field: 'messages',
			value: {
				messages: [
					{
						id: wamid,
						timestamp: unixNow(),
						type: 'system',
						system: { type: 'user_changed_user_id', previous_user_id: previous, user_id: next },
					},
				],
			},
		});
		return wamid;
	}

	/** A text from a username user who withholds their number: only `from_user_id` (whatsapp-api-js's v25 shape). */
	injectUsernameText(bsuid: string, text: string, username = '@sandboxuser') {
		const wamid = this.nextMessageId();
		this.queue({
			phoneNumberId: this.defaultPhoneNumberId,
			field: 'messages',
			value: {
				contacts: [{ profile: { name: 'Sandbox User', username }, user_id: bsuid }],
				messages: [{ from_user_id: bsuid, id: wamid, timestamp: unixNow(), type: 'text', text: { body: text } }],
			},
		});
		return wamid;
	}

	/** An inbound text message from a user, as Meta posts it. */
	injectInboundText(from: string, text: string, profileName = 'Sandbox User') {
		const wamid = this.nextMessageId();
		this.queueInbound(from, profileName, {
			from: digits(from),
			id: wamid,
			timestamp: unixNow(),
			type: 'text',
			text: { body: text },
		});
		return wamid;
	}

	/** A tap on a template's quick-reply button. */
	injectQuickReply(from: string, payload: string, text: string, contextMessageId?: string) {
		const wamid = this.nextMessageId();
		const message: Record<string, unknown> = {
			from: digits(from),
			id: wamid,
			timestamp: unixNow(),
			type: 'button',
			button: { payload, text },
		};
		if (contextMessageId)
			message.context = {
				from: this.phoneNumbers.get(this.defaultPhoneNumberId)!.display_phone_number.replace(/\D/g, ''),
				id: contextMessageId,
			};
		this.queueInbound(from, 'Sandbox User', message);
		return wamid;
	}

	/** Any other field of the subscription (user_preferences, message_template_status_update, account_update…). */
	injectField(field: string, value: Record<string, unknown>) {
		this.queue({ phoneNumberId: this.defaultPhoneNumberId, field, value });
	}

	/**
	 * Lets every scheduled status fire, then posts what is queued (batched as usual) and resolves once
	 * every POST has been answered.
	 */
	async flushWebhooks(): Promise<void> {
		for (;;) {
			while (this.timers.size) await sleep(2);
			if (this.webhookTimer) {
				clearTimeout(this.webhookTimer);
				this.webhookTimer = undefined;
			}
			if (this.webhookQueue.length) this.postQueued();
			if (this.inflightWebhooks.size === 0 && this.timers.size === 0 && this.webhookQueue.length === 0) return;
			await Promise.all([...this.inflightWebhooks]);
		}
	}

	// ---- lifecycle ----

	private async listen() {
		const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
		this.server = this.options.tls ? createTlsServer(this.options.tls, handler) : createServer(handler);
		this.server.keepAliveTimeout = 30_000;
		this.server.on(this.options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
			this.counters.connections++;
			this.sockets.add(socket);
			socket.on('close', () => this.sockets.delete(socket));
		});
		await new Promise<void>((resolve, reject) => {
			this.server!.once('error', reject);
			this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
		});
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		if (this.webhookTimer) clearTimeout(this.webhookTimer);
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}

	// ---- request handling ----

	private async handle(req: IncomingMessage, res: ServerResponse) {
		const receivedAt = Date.now();
		const url = new URL(req.url ?? '/', 'http://sandbox');
		const raw = await readBody(req);
		this.counters.requests++;
		const record: RecordedRequest = {
			method: req.method ?? 'GET',
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			authorization: req.headers.authorization,
			receivedAt,
			status: 0,
		};
		this.requests.push(record);

		const answer = async (status: number, body: unknown) => {
			record.status = status;
			const errorCode = (body as { error?: { code?: number } })?.error?.code;
			if (errorCode !== undefined) {
				record.errorCode = errorCode;
				this.counters.errorsByCode[errorCode] = (this.counters.errorsByCode[errorCode] ?? 0) + 1;
			}
			await this.delay();
			if (res.destroyed) return;
			const text = JSON.stringify(body);
			res.writeHead(status, {
				'Content-Type': 'application/json; charset=UTF-8',
				'Content-Length': Buffer.byteLength(text),
			});
			res.end(text);
		};

		// Control endpoints for a sandbox running in another process (benchmarks, end-to-end tests).
		if (req.method === 'GET' && url.pathname === '/_sandbox/counters') {
			return answer(200, {
				counters: this.counters,
				accepted: this.acceptedSends().map((r) => ({ to: r.to, receivedAt: r.receivedAt })),
				throttled: this.requests.filter((r) => r.errorCode === 130429).length,
			});
		}
		const match = GRAPH_VERSION.exec(url.pathname);
		if (!match)
			return answer(400, metaError(100, 'Unknown path components', `${url.pathname} is not a Graph API path`, 2500));
		if (req.headers.authorization !== `Bearer ${this.accessToken}`) {
			return answer(
				401,
				metaError(
					190,
					'Invalid OAuth access token - Cannot parse access token',
					'The access token is invalid or expired',
				),
			);
		}
		const segments = match[2].split('/').map(decodeURIComponent);

		if (req.method === 'POST' && segments.length === 2 && segments[1] === 'messages') {
			this.counters.sendRequests++;
			return this.handleSend(segments[0], raw, record, answer, req, res);
		}
		if (req.method === 'GET' && segments.length === 2 && segments[1] === 'message_templates') {
			if (segments[0] !== this.businessAccountId) return answer(400, unknownObject(segments[0]));
			return answer(200, this.templatePage(url.searchParams));
		}
		if (req.method === 'GET' && segments.length === 1) {
			const phone = this.phoneNumbers.get(segments[0]);
			if (!phone) return answer(400, unknownObject(segments[0]));
			return answer(200, phoneFields(phone, url.searchParams.get('fields')));
		}
		return answer(
			400,
			metaError(100, `Unsupported ${req.method} request.`, `${url.pathname} is not served by the sandbox`, 33),
		);
	}

	private async handleSend(
		phoneNumberId: string,
		raw: Buffer,
		record: RecordedRequest,
		answer: (status: number, body: unknown) => Promise<void>,
		req: IncomingMessage,
		res: ServerResponse,
	) {
		const phone = this.phoneNumbers.get(phoneNumberId);
		if (!phone) return answer(400, unknownObject(phoneNumberId));

		let body: Record<string, unknown>;
		try {
			body = JSON.parse(raw.toString('utf8'));
		} catch {
			return answer(400, metaError(100, '(#100) Invalid parameter', 'Request body is not valid JSON'));
		}
		if (this.recordBodies) record.body = body;
		// Since 2026 a BSUID (or parent BSUID) goes in `recipient` instead of `to` (whatsapp-api-js's
		// sendMessage; Meta's business-scoped user IDs page).
		const byBsuid = typeof body.recipient === 'string' && body.to === undefined;
		const to = byBsuid ? String(body.recipient) : typeof body.to === 'string' ? body.to : '';
		record.to = to;

		const fault = this.recipientFaults.get(who(to))?.shift() ?? this.faultQueue.shift();
		if (fault) {
			this.counters.faults++;
			return this.applyFault(fault, answer, req, res, record);
		}

		if (body.messaging_product !== 'whatsapp') {
			return answer(
				400,
				metaError(100, '(#100) The parameter messaging_product is required.', 'messaging_product must be "whatsapp"'),
			);
		}
		if (!to)
			return answer(400, metaError(131008, '(#131008) Required parameter is missing', 'Parameter "to" is required'));
		if (byBsuid ? !isBsuid(to) : !/^\+?\d{6,15}$/.test(to))
			return answer(
				400,
				metaError(
					100,
					'(#100) Invalid parameter',
					byBsuid ? '"recipient" is not a BSUID' : '"to" is not a phone number',
				),
			);

		// Throughput is counted per business number over the trailing second, before any content check.
		const now = Date.now();
		const window = (this.throughputWindows.get(phoneNumberId) ?? []).filter((t) => now - t < 1_000);
		if (window.length >= phone.throughputPerSecond) {
			this.throughputWindows.set(phoneNumberId, window);
			return answer(
				400,
				metaError(130429, '(#130429) Rate limit hit', 'Cloud API message throughput has been reached.', 2494055),
			);
		}
		window.push(now);
		this.throughputWindows.set(phoneNumberId, window);

		if (body.type !== 'template') {
			return answer(
				400,
				metaError(131051, '(#131051) Unsupported message type', 'The sandbox serves template messages only'),
			);
		}
		const template = body.template as
			{ name?: unknown; language?: { code?: unknown }; components?: unknown } | undefined;
		if (!template || typeof template.name !== 'string' || typeof template.language?.code !== 'string') {
			return answer(
				400,
				metaError(
					131008,
					'(#131008) Required parameter is missing',
					'template.name and template.language.code are required',
				),
			);
		}
		const definition = this.templates.find((t) => t.name === template.name && t.language === template.language!.code);
		if (
			!definition ||
			(definition.status !== 'APPROVED' && definition.status !== 'PAUSED' && definition.status !== 'DISABLED')
		) {
			return answer(
				404,
				metaError(
					132001,
					'(#132001) Template name does not exist in the translation',
					`template name (${template.name}) does not exist in ${template.language.code}`,
				),
			);
		}
		if (definition.status === 'PAUSED')
			return answer(400, metaError(132015, '(#132015) Template is paused', outcomeText(132015).details));
		if (definition.status === 'DISABLED')
			return answer(400, metaError(132016, '(#132016) Template is disabled', outcomeText(132016).details));
		const rejection = checkTemplateComponents(definition, template.components);
		if (rejection) return answer(rejection.httpStatus, metaError(rejection.code, rejection.message, rejection.details));

		const outcome = this.outcomes.get(who(to));
		if (outcome?.kind === 'error') {
			const text = outcomeText(outcome.code);
			return answer(text.http, metaError(outcome.code, `(#${outcome.code}) ${text.title}`, text.details));
		}

		const bucketKey = `${phoneNumberId}:${who(to)}`;
		const bucket = this.pairBuckets.get(bucketKey) ?? { tokens: this.pairRate.burst, at: now };
		bucket.tokens = Math.min(this.pairRate.burst, bucket.tokens + (now - bucket.at) / this.pairRate.refillMs);
		bucket.at = now;
		this.pairBuckets.set(bucketKey, bucket);
		if (bucket.tokens < 1) {
			return answer(
				400,
				metaError(
					131056,
					'(#131056) (Business Account, Consumer Account) pair rate limit hit',
					'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
				),
			);
		}
		bucket.tokens -= 1;

		const messageId = this.nextMessageId();
		record.messageId = messageId;
		this.counters.accepted++;
		const biz = typeof body.biz_opaque_callback_data === 'string' ? body.biz_opaque_callback_data : undefined;
		const waId = this.waIds.get(digits(to)) ?? digits(to);
		this.scheduleStatuses(phoneNumberId, messageId, byBsuid ? to : waId, definition, biz, outcome);
		return answer(200, {
			messaging_product: 'whatsapp',
			contacts: [byBsuid ? { input: to, user_id: to } : { input: to, wa_id: waId }],
			messages: [
				{
					id: messageId,
					message_status: this.heldTemplates.has(definition.name) ? 'held_for_quality_assessment' : 'accepted',
				},
			],
		});
	}

	private async applyFault(
		fault: Fault,
		answer: (status: number, body: unknown) => Promise<void>,
		req: IncomingMessage,
		res: ServerResponse,
		record: RecordedRequest,
	) {
		switch (fault) {
			case 'http500':
				return answer(500, metaError(131000, '(#131000) Something went wrong', outcomeText(131000).details));
			case 'http503':
				return answer(503, metaError(2, '(#2) Service temporarily unavailable', outcomeText(2).details));
			case 'reset':
				record.status = -1;
				req.socket.destroy();
				return;
			case 'hang':
				// Never answer: the client's timeout must fire. The socket is destroyed on close().
				record.status = -2;
				res.on('close', () => undefined);
				return;
		}
	}

	private templatePage(params: URLSearchParams) {
		const limit = Math.max(1, Math.min(Number(params.get('limit') ?? 25) || 25, 1000));
		const offset = params.get('after') ? Number(Buffer.from(params.get('after')!, 'base64url').toString()) : 0;
		const fields = (params.get('fields') ?? 'name,language,status,category,id').split(',');
		const page = this.templates.slice(offset, offset + limit).map((template) => {
			const out: Record<string, unknown> = { id: template.id };
			for (const field of fields) {
				if (field in template) out[field] = (template as unknown as Record<string, unknown>)[field];
			}
			return out;
		});
		const cursor = (n: number) => Buffer.from(String(n)).toString('base64url');
		const paging: Record<string, unknown> = {
			cursors: { before: cursor(offset), after: cursor(offset + page.length) },
		};
		if (offset + limit < this.templates.length) {
			paging.next = `https://graph.facebook.com/v26.0/${this.businessAccountId}/message_templates?limit=${limit}&after=${cursor(offset + page.length)}`;
		}
		return { data: page, paging };
	}

	private async delay() {
		const ms = this.latencyMs + (this.jitterMs ? Math.random() * this.jitterMs : 0);
		if (ms > 0) await sleep(ms);
	}

	private nextMessageId() {
		this.messageCounter++;
		return `wamid.${Buffer.from(`sandbox-${process.pid}-${Date.now()}-${this.messageCounter}`).toString('base64url')}`;
	}

	// ---- status webhooks ----

	private scheduleStatuses(
		phoneNumberId: string,
		messageId: string,
		recipient: string,
		template: TemplateDefinition,
		biz: string | undefined,
		outcome: RecipientOutcome | undefined,
	) {
		if (!this.webhook) return;
		const statusDelay = this.webhook.statusDelayMs ?? 20;
		let steps: Array<{ status: string; code?: number }> = (this.webhook.statuses ?? ['sent', 'delivered', 'read']).map(
			(status) => ({ status }),
		);
		if (outcome?.kind === 'failLater') steps = [{ status: 'sent' }, { status: 'failed', code: outcome.code }];
		if (outcome?.kind === 'noRead') steps = steps.filter((s) => s.status !== 'read');
		steps.forEach((step, index) => {
			const timer = setTimeout(
				() => {
					this.timers.delete(timer);
					if (this.closed) return;
					const toBsuid = isBsuid(recipient);
					const status: Record<string, unknown> = {
						id: messageId,
						status: step.status,
						timestamp: unixNow(),
						...(toBsuid ? { recipient_user_id: recipient } : { recipient_id: recipient }),
					};
					// 2026: a status carries the recipient's contacts entry (not a failed one), pairing the
					// number with the BSUID Meta knows for it (whatsapp-api-js's v25 payload examples).
					const bsuid = toBsuid ? recipient : this.bsuids.get(recipient);
					const contacts =
						bsuid && step.status !== 'failed'
							? [{ profile: { name: 'Sandbox User' }, ...(toBsuid ? {} : { wa_id: recipient }), user_id: bsuid }]
							: undefined;
					if (biz) status.biz_opaque_callback_data = biz;
					if (step.status !== 'failed') {
						status.pricing = {
							billable: true,
							pricing_model: 'PMP',
							type: 'regular',
							category: template.category.toLowerCase(),
						};
					} else {
						const text = outcomeText(step.code!);
						status.errors = [
							{
								code: step.code,
								title: text.title,
								message: text.title,
								error_data: { details: text.details },
								href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
							},
						];
					}
					this.statusLog.push({ id: messageId, status: step.status, recipient, code: step.code, biz });
					this.counters.statusesPosted[step.status] = (this.counters.statusesPosted[step.status] ?? 0) + 1;
					this.queue({
						phoneNumberId,
						field: 'messages',
						value: contacts ? { statuses: [status], contacts } : { statuses: [status] },
					});
				},
				statusDelay * (index + 1),
			);
			this.timers.add(timer);
		});
	}

	private queueInbound(from: string, profileName: string, message: Record<string, unknown>) {
		this.queue({
			phoneNumberId: this.defaultPhoneNumberId,
			field: 'messages',
			value: { contacts: [{ profile: { name: profileName }, wa_id: digits(from) }], messages: [message] },
		});
	}

	private queue(update: QueuedUpdate) {
		if (!this.webhook) throw new Error('the sandbox has no webhook configured');
		this.webhookQueue.push(update);
		if (this.webhookQueue.length >= (this.webhook.batchSize ?? 100)) {
			this.postQueued();
		} else if (!this.webhookTimer) {
			this.webhookTimer = setTimeout(() => {
				this.webhookTimer = undefined;
				this.postQueued();
			}, this.webhook.batchDelayMs ?? 50);
		}
	}

	/** Groups queued updates into one POST, merging `messages` statuses per phone number as Meta does. */
	private postQueued() {
		const webhook = this.webhook;
		if (!webhook || this.webhookQueue.length === 0) return;
		const batch = this.webhookQueue.splice(0, webhook.batchSize ?? 100);
		const changes: Array<{ field: string; value: Record<string, unknown> }> = [];
		const statusChanges = new Map<string, { field: string; value: Record<string, unknown> }>();
		for (const update of batch) {
			const phone = this.phoneNumbers.get(update.phoneNumberId)!;
			const metadata = {
				display_phone_number: phone.display_phone_number.replace(/\D/g, ''),
				phone_number_id: phone.id,
			};
			if (update.field === 'messages' && Array.isArray(update.value.statuses)) {
				let change = statusChanges.get(update.phoneNumberId);
				if (!change) {
					change = { field: 'messages', value: { messaging_product: 'whatsapp', metadata, statuses: [] } };
					statusChanges.set(update.phoneNumberId, change);
					changes.push(change);
				}
				(change.value.statuses as unknown[]).push(...(update.value.statuses as unknown[]));
				// The recipients' contacts entries travel with their statuses, one per person.
				for (const contact of (update.value.contacts as Array<Record<string, unknown>> | undefined) ?? []) {
					const contacts = (change.value.contacts ??= []) as Array<Record<string, unknown>>;
					if (!contacts.some((c) => c.user_id === contact.user_id)) contacts.push(contact);
				}
			} else if (update.field === 'messages') {
				changes.push({ field: 'messages', value: { messaging_product: 'whatsapp', metadata, ...update.value } });
			} else {
				changes.push({ field: update.field, value: update.value });
			}
		}
		if (webhook.outOfOrder) {
			for (const change of statusChanges.values()) (change.value.statuses as unknown[]).reverse();
		}
		const envelope = { object: 'whatsapp_business_account', entry: [{ id: this.businessAccountId, changes }] };
		const raw = metaJson(envelope);
		const copies = Math.random() < (webhook.duplicateRate ?? 0) ? 2 : 1;
		for (let i = 0; i < copies; i++) this.track(this.postWebhook(webhook, raw));
		if (this.webhookQueue.length) this.postQueued();
	}

	private track(promise: Promise<void>) {
		this.inflightWebhooks.add(promise);
		void promise.finally(() => this.inflightWebhooks.delete(promise));
	}

	/** Posts one signed webhook body; the raw bytes are exactly what was signed. */
	async postWebhook(webhook: WebhookOptions, raw: string): Promise<void> {
		const attempts = webhook.attempts ?? 1;
		for (let attempt = 1; ; attempt++) {
			const delivered = await this.postWebhookOnce(webhook, raw);
			if (delivered || attempt >= attempts || this.closed) return;
			this.counters.webhookRetries++;
			await sleep(Math.min(1000 * 2 ** (attempt - 1), 8000));
			if (this.closed) return;
		}
	}

	private async postWebhookOnce(webhook: WebhookOptions, raw: string): Promise<boolean> {
		const body = Buffer.from(raw, 'utf8');
		const target = new URL(webhook.url);
		this.counters.webhookPosts++;
		return await new Promise<boolean>((resolve) => {
			const req = httpRequest(
				{
					method: 'POST',
					hostname: target.hostname,
					port: target.port,
					path: `${target.pathname}${target.search}`,
					headers: {
						'Content-Type': 'application/json',
						'Content-Length': body.length,
						'X-Hub-Signature-256': signWebhookBody(webhook.appSecret, body),
						'User-Agent': 'facebookexternalua',
					},
					timeout: 10_000,
				},
				(res) => {
					res.resume();
					res.on('end', () => {
						const ok = (res.statusCode ?? 500) < 300;
						if (!ok) this.counters.webhookFailures++;
						resolve(ok);
					});
				},
			);
			req.on('timeout', () => req.destroy(new Error('webhook timeout')));
			req.on('error', () => {
				this.counters.webhookFailures++;
				resolve(false);
			});
			req.end(body);
		});
	}
}

function unknownObject(id: string) {
	return metaError(
		100,
		`Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
		'Unknown object id',
		33,
	);
}

function phoneFields(phone: SandboxPhoneNumber, fields: string | null) {
	const all: Record<string, unknown> = {
		id: phone.id,
		display_phone_number: phone.display_phone_number,
		verified_name: phone.verified_name,
		quality_rating: phone.quality_rating,
		throughput: { level: phone.throughputPerSecond >= 1000 ? 'HIGH' : 'STANDARD' },
		whatsapp_business_manager_messaging_limit: phone.messagingLimit,
	};
	const wanted = (fields ?? 'display_phone_number,verified_name,quality_rating').split(',').map((f) => f.trim());
	return Object.fromEntries(Object.entries(all).filter(([key]) => key === 'id' || wanted.includes(key)));
}

/**
 * A business-scoped user ID as Meta documents it: two-letter country, a period, `ENT.` for a parent
 * BSUID, then up to 128 alphanumerics. Written here, not imported: the sandbox plays Meta and runs as its
 * own process (plain Node, no bundler).
 */
function isBsuid(value: string): boolean {
	return /^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/.test(value);
}

/** Who a recipient is to the sandbox: a BSUID as itself, a number by its digits. */
function who(value: string) {
	return isBsuid(value) ? value : digits(value);
}

function digits(value: string) {
	return value.replace(/\D/g, '');
}

function unixNow() {
	return String(Math.floor(Date.now() / 1000));
}

function sleep(ms: number) {
	return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}
