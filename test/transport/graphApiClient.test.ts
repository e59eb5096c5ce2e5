import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';

import {
	GraphApiClient,
	GraphApiError,
	graphApiConfigFromCredentials,
	type TemplateMessage,
} from '../../nodes/transport/GraphApiClient';
import { whatsAppCloudApiTest } from '../../nodes/transport/credentialTest';
import { CloudApiSandbox } from '../sandbox/server.ts';

const springSale = (to: string): TemplateMessage => ({
	to,
	name: 'spring_sale',
	languageCode: 'fr',
	bizOpaqueCallbackData: 'campaign-42:A',
	components: [
		{ type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.example.com/p.jpg' } }] },
		{
			type: 'body',
			parameters: [
				{ type: 'text', text: 'Camille' },
				{ type: 'currency', currency: { fallback_value: '12,50 €', code: 'EUR', amount_1000: 12500 } },
				{ type: 'date_time', date_time: { fallback_value: '1 mai 2026' } },
			],
		},
		{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'STOP_PROMOS' }] },
		{ type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'ORD-123' }] },
	],
});

async function rejection(promise: Promise<unknown>): Promise<GraphApiError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(GraphApiError);
		return error as GraphApiError;
	}
	throw new Error('expected the call to fail');
}

describe('GraphApiClient against the local Cloud API sandbox', () => {
	let sandbox: CloudApiSandbox;
	let client: GraphApiClient;

	beforeAll(async () => {
		sandbox = await CloudApiSandbox.start();
	});
	afterAll(async () => {
		await sandbox.close();
	});
	beforeEach(() => {
		sandbox.resetLog();
		sandbox.resetLimits();
		client = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials()), { timeoutMs: 500 });
	});

	test('sends a template with Meta’s exact body and returns the message id and wa_id', async () => {
		const result = await client.sendTemplate(springSale('+33612345678'));
		expect(result.messageId).toMatch(/^wamid\./);
		expect(result).toMatchObject({ messageStatus: 'accepted', input: '+33612345678', waId: '33612345678' });

		const [request] = sandbox.acceptedSends();
		expect(request.path).toBe(`/v26.0/${sandbox.defaultPhoneNumberId}/messages`);
		expect(request.authorization).toBe(`Bearer ${sandbox.accessToken}`);
		expect(request.body).toEqual({
			messaging_product: 'whatsapp',
			recipient_type: 'individual',
			to: '+33612345678',
			type: 'template',
			biz_opaque_callback_data: 'campaign-42:A',
			template: { name: 'spring_sale', language: { code: 'fr' }, components: springSale('').components },
		});
	});

	test('sends to a business-scoped user ID in `recipient`, not `to`, and returns its user_id', async () => {
		// The request shape whatsapp-api-js's sendMessage builds for a BSUID recipient (Meta's BSUID page).
		const result = await client.sendTemplate({
			to: 'US.13491208655302741918',
			name: 'hello_world',
			languageCode: 'en_US',
		});
		expect(result).toMatchObject({
			messageStatus: 'accepted',
			input: 'US.13491208655302741918',
			userId: 'US.13491208655302741918',
		});
		expect(result.waId).toBeUndefined();
		const [request] = sandbox.acceptedSends();
		expect(request.body).toEqual({
			messaging_product: 'whatsapp',
			recipient_type: 'individual',
			recipient: 'US.13491208655302741918',
			type: 'template',
			template: { name: 'hello_world', language: { code: 'en_US' } },
		});
	});

	test('reports held_for_quality_assessment when Meta paces the template', async () => {
		sandbox.heldTemplates.add('hello_world');
		try {
			const result = await client.sendTemplate({ to: '+4915123456789', name: 'hello_world', languageCode: 'en_US' });
			expect(result.messageStatus).toBe('held_for_quality_assessment');
		} finally {
			sandbox.heldTemplates.delete('hello_world');
		}
	});

	test('a wrong access token is code 190 and stops everything, and no error text carries the token', async () => {
		const secret = 'EAAG-very-secret-token-value';
		const wrong = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials({ accessToken: secret })));
		const error = await rejection(wrong.sendTemplate(springSale('+33612345678')));
		expect(error).toMatchObject({ code: 190, httpStatus: 401, errorClass: 'STOP_ALL', responseReceived: true });
		expect(error.fbtraceId).toBeTruthy();
		for (const text of [error.message, String(error.stack), JSON.stringify(error), inspect(error, { depth: 10 })]) {
			expect(text).not.toContain(secret);
		}
	});

	test.each([
		['an unknown template', { name: 'no_such_template', languageCode: 'en_US' }, 132001, 'STOP_CAMPAIGN'],
		[
			'a template in a language it does not exist in',
			{ name: 'spring_sale', languageCode: 'de' },
			132001,
			'STOP_CAMPAIGN',
		],
		['a paused template', { name: 'legacy_offer', languageCode: 'en_US' }, 132015, 'STOP_CAMPAIGN'],
		[
			'too few body parameters',
			{
				name: 'weekly_promo',
				languageCode: 'en_US',
				components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
			},
			132000,
			'PERMANENT',
		],
		[
			'a missing copy-code button parameter',
			{
				name: 'weekly_promo',
				languageCode: 'en_US',
				components: [
					{
						type: 'body',
						parameters: [
							{ type: 'text', text: 'Ana' },
							{ type: 'text', text: '20%' },
						],
					},
				],
			},
			132000,
			'PERMANENT',
		],
		[
			'a named template given an unknown parameter name',
			{
				name: 'order_update',
				languageCode: 'en_US',
				components: [
					{ type: 'header', parameters: [{ type: 'text', parameter_name: 'order_id', text: 'A1' }] },
					{
						type: 'body',
						parameters: [
							{ type: 'text', parameter_name: 'first_name', text: 'Jo' },
							{ type: 'text', parameter_name: 'order_id', text: 'A1' },
							{ type: 'text', parameter_name: 'shipdate', text: 'Mon' },
						],
					},
				],
			},
			132000,
			'PERMANENT',
		],
		[
			'a currency without amount_1000',
			{
				...springSale('+33612345678'),
				components: springSale('').components!.map((c) =>
					c.type === 'body'
						? {
								...c,
								parameters: [
									c.parameters![0],
									{ type: 'currency', currency: { fallback_value: '12 €', code: 'EUR' } },
									c.parameters![2],
								],
							}
						: c,
				),
			},
			132012,
			'PERMANENT',
		],
		[
			'a header image with no link or id',
			{
				...springSale('+33612345678'),
				components: springSale('').components!.map((c) =>
					c.type === 'header' ? { type: 'header' as const, parameters: [{ type: 'image', image: {} }] } : c,
				),
			},
			132012,
			'PERMANENT',
		],
		[
			'a body parameter with a newline',
			{
				name: 'weekly_promo',
				languageCode: 'en_US',
				components: [
					{
						type: 'body',
						parameters: [
							{ type: 'text', text: 'Ana\nMaria' },
							{ type: 'text', text: '20%' },
						],
					},
					{
						type: 'button',
						sub_type: 'copy_code',
						index: '1',
						parameters: [{ type: 'coupon_code', coupon_code: 'SAVE20' }],
					},
				],
			},
			132018,
			'PERMANENT',
		],
	] as const)('the sandbox validates templates like Meta: %s → %i (%s)', async (_label, template, code, errorClass) => {
		const error = await rejection(
			client.sendTemplate({ to: '+33612345678', ...(template as Omit<TemplateMessage, 'to'>) }),
		);
		expect(error.code).toBe(code);
		expect(error.errorClass).toBe(errorClass);
		expect(error.details).toBeTruthy();
		expect(sandbox.acceptedSends()).toHaveLength(0);
	});

	test.each([
		[131026, 'PERMANENT'],
		[131047, 'PERMANENT'],
		[131049, 'PERMANENT'],
		[131050, 'PERMANENT'],
		[131048, 'STOP_CAMPAIGN'],
		[368, 'STOP_ALL'],
		[131031, 'STOP_ALL'],
		[131042, 'STOP_ALL'],
		[133010, 'STOP_ALL'],
		[130497, 'PERMANENT'],
		[131057, 'RETRY'],
		[80007, 'RETRY'],
		[4, 'RETRY'],
	] as const)('a recipient scripted to fail with %i is classified %s', async (code, errorClass) => {
		const to = `+3361234${String(code).padStart(4, '0').slice(-4)}`;
		sandbox.setOutcome(to, { kind: 'error', code });
		const error = await rejection(client.sendTemplate(springSale(to)));
		expect(error).toMatchObject({ code, errorClass, responseReceived: true });
	});

	test('a 500 with Meta code 131000 and a 503 with code 2 are retryable', async () => {
		sandbox.failNext('http500');
		sandbox.failNext('http503');
		const first = await rejection(client.sendTemplate(springSale('+33612345678')));
		const second = await rejection(client.sendTemplate(springSale('+33612345678')));
		expect(first).toMatchObject({ code: 131000, httpStatus: 500, errorClass: 'RETRY' });
		expect(second).toMatchObject({ code: 2, httpStatus: 503, errorClass: 'RETRY' });
		await expect(client.sendTemplate(springSale('+33612345678'))).resolves.toMatchObject({ messageStatus: 'accepted' });
	});

	test('a hung request times out as retryable with "no response received"', async () => {
		sandbox.failNext('hang');
		const error = await rejection(client.sendTemplate(springSale('+33612345678')));
		expect(error.responseReceived).toBe(false);
		expect(error.errorClass).toBe('RETRY');
		expect(error.message).toMatch(/No response received/);
		expect(error.code).toBeUndefined();
	});

	test('a connection reset is retryable with "no response received", and the next call works', async () => {
		sandbox.failNext('reset');
		const error = await rejection(client.sendTemplate(springSale('+33612345678')));
		expect(error).toMatchObject({ responseReceived: false, errorClass: 'RETRY' });
		expect(error.message).toMatch(/No response received .*(ECONNRESET|socket hang up)/);
		await expect(client.sendTemplate(springSale('+33612345678'))).resolves.toMatchObject({ messageStatus: 'accepted' });
	});

	test('a refused connection is retryable with "no response received"', async () => {
		const closed = await CloudApiSandbox.start();
		const baseUrl = closed.baseUrl;
		await closed.close();
		const offline = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials({ baseUrl })));
		const error = await rejection(offline.getPhoneNumber());
		expect(error).toMatchObject({ responseReceived: false, errorClass: 'RETRY' });
		expect(error.message).toMatch(/ECONNREFUSED/);
		// Sends take their own path to node:http; it reports the same way (and nothing was written).
		const written = jest.fn();
		const send = await rejection(offline.sendTemplate(springSale('+33612345678'), { onWritten: written }));
		expect(written).not.toHaveBeenCalled();
		expect(send).toMatchObject({ responseReceived: false, errorClass: 'RETRY' });
		expect(send.message).toMatch(/No response received .*ECONNREFUSED/);
	});

	test('reports when a send was handed to the socket: once, before Meta read it', async () => {
		const written: number[] = [];
		const before = Date.now();
		await client.sendTemplate(springSale('+33612345678'), { onWritten: (at) => written.push(at) });
		expect(written).toHaveLength(1);
		expect(written[0]).toBeGreaterThanOrEqual(before);
		expect(written[0]).toBeLessThanOrEqual(sandbox.acceptedSends()[0].receivedAt);
	});

	test('a non-JSON error page is an HTTP error without a Meta code, not a crash', async () => {
		const page = createServer((_req, res) =>
			res.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>Bad gateway</h1>'),
		);
		await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
		try {
			const { port } = page.address() as AddressInfo;
			const behind = new GraphApiClient(
				graphApiConfigFromCredentials(sandbox.credentials({ baseUrl: `http://127.0.0.1:${port}` })),
			);
			const error = await rejection(behind.sendTemplate(springSale('+33612345678')));
			expect(error).toMatchObject({ httpStatus: 502, responseReceived: true, errorClass: 'RETRY' });
			expect(error.code).toBeUndefined();
		} finally {
			page.close();
		}
	});

	test('with HTTP_PROXY set, sends go through the proxy', async () => {
		const proxied: string[] = [];
		// A forward proxy for plain HTTP: the request line carries the absolute URL.
		const proxy = createServer((req, res) => {
			proxied.push(`${req.method} ${req.url}`);
			const target = new URL(req.url!);
			const upstream = httpRequest(
				{ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers },
				(answer) => {
					res.writeHead(answer.statusCode!, answer.headers);
					answer.pipe(res);
				},
			);
			req.pipe(upstream);
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
		try {
			const viaProxy = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials()));
			await expect(viaProxy.sendTemplate(springSale('+33612345678'))).resolves.toMatchObject({
				messageStatus: 'accepted',
			});
			expect(proxied).toEqual([expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/v\d+\.0\/\d+\/messages$/)]);
		} finally {
			delete process.env.HTTP_PROXY;
			proxy.close();
		}
	});

	test('through a proxy, a request that got no answer counts as written (in doubt); one the proxy never took does not', async () => {
		// A proxy that forwards the request to Meta (the sandbox accepts it) and never answers the client.
		const proxy = createServer((req) => {
			const target = new URL(req.url!);
			req.pipe(
				httpRequest({
					host: target.hostname,
					port: target.port,
					path: target.pathname,
					method: req.method,
					headers: req.headers,
				}),
			);
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		const before = sandbox.acceptedSends().length;
		process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
		try {
			const viaProxy = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials()), { timeoutMs: 500 });
			const written: number[] = [];
			const error = await rejection(
				viaProxy.sendTemplate(springSale('+33612345679'), { onWritten: (at) => written.push(at) }),
			);
			expect(error).toMatchObject({ responseReceived: false });
			expect(written).toHaveLength(1);
			expect(sandbox.acceptedSends().length).toBe(before + 1); // Meta did take it
			// The proxy cannot be reached at all: provably never sent.
			process.env.HTTP_PROXY = 'http://127.0.0.1:1';
			const unreachable = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials()), {
				timeoutMs: 500,
			});
			const refused: number[] = [];
			await expect(
				unreachable.sendTemplate(springSale('+33612345670'), { onWritten: (at) => refused.push(at) }),
			).rejects.toMatchObject({ responseReceived: false });
			expect(refused).toEqual([]);
		} finally {
			delete process.env.HTTP_PROXY;
			proxy.closeAllConnections();
			proxy.close();
		}
	});

	test('over the throughput limit the sandbox answers 130429, classified RETRY', async () => {
		sandbox.setThroughput(5);
		try {
			const results = await Promise.allSettled(
				Array.from({ length: 12 }, (_, i) =>
					client.sendTemplate(springSale(`+336000000${String(i).padStart(2, '0')}`)),
				),
			);
			const accepted = results.filter((r) => r.status === 'fulfilled');
			const throttled = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as GraphApiError] : []));
			expect(accepted).toHaveLength(5);
			expect(throttled).toHaveLength(7);
			for (const error of throttled)
				expect(error).toMatchObject({ code: 130429, subcode: 2494055, errorClass: 'RETRY' });
		} finally {
			sandbox.setThroughput(80);
		}
	});

	test('too many messages to one recipient answer 131056, classified RETRY_RECIPIENT_LATER', async () => {
		sandbox.pairRate = { burst: 2, refillMs: 60_000 };
		try {
			await client.sendTemplate(springSale('+33699999999'));
			await client.sendTemplate(springSale('+33699999999'));
			const error = await rejection(client.sendTemplate(springSale('+33699999999')));
			expect(error).toMatchObject({ code: 131056, errorClass: 'RETRY_RECIPIENT_LATER' });
			await expect(client.sendTemplate(springSale('+33688888888'))).resolves.toBeTruthy();
		} finally {
			sandbox.pairRate = { burst: 45, refillMs: 6_000 };
		}
	});

	test('lists every template across cursor pages', async () => {
		const templates = await client.listTemplates({ pageSize: 2 });
		expect(templates.map((t) => `${t.name}/${t.language}/${t.status}`)).toEqual([
			'spring_sale/fr/APPROVED',
			'order_update/en_US/APPROVED',
			'hello_world/en_US/APPROVED',
			'weekly_promo/en_US/APPROVED',
			'limited_time_offer_caribbean_pkg_2023/en_US/APPROVED',
			'carousel_template_media_cards_v1/en_US/APPROVED',
			'legacy_offer/en_US/PAUSED',
			'intro_catalog_offer/en_US/APPROVED',
			'order_delivery_update/en_US/APPROVED',
			'verification_code/en_US/APPROVED',
			'abandoned_cart_offer/en_US/APPROVED',
			'abandoned_cart/en_US/APPROVED',
			'example_flow_template/en_US/APPROVED',
		]);
		const pages = sandbox.requests.filter((r) => r.path.endsWith('/message_templates'));
		expect(pages).toHaveLength(7);
		expect(pages[0].query.fields).toBe('name,language,status,category,parameter_format,components');
		expect(templates[0].components?.length).toBeGreaterThan(0);
	});

	test('reads the phone number’s quality and messaging limit', async () => {
		const phone = await client.getPhoneNumber();
		expect(phone).toMatchObject({
			display_phone_number: '+1 555-010-0000',
			quality_rating: 'GREEN',
			whatsapp_business_manager_messaging_limit: 'TIER_10K',
		});
	});

	test('an unknown phone number id is Meta code 100 (permanent)', async () => {
		const other = new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials({ phoneNumberId: '999' })));
		const error = await rejection(other.getPhoneNumber());
		expect(error).toMatchObject({ code: 100, errorClass: 'PERMANENT' });
		expect(error.message).toMatch(/does not exist/);
	});

	test('connections are reused across calls (keep-alive)', async () => {
		await client.getPhoneNumber();
		const connections = sandbox.counters.connections;
		for (let i = 0; i < 5; i++) {
			await new GraphApiClient(graphApiConfigFromCredentials(sandbox.credentials())).getPhoneNumber();
		}
		expect(sandbox.counters.requests).toBe(6);
		// Even new clients share the process-wide keep-alive pool: no new TCP connection.
		expect(sandbox.counters.connections).toBe(connections);
	});
});

describe('the whatsAppCloudApi credential test', () => {
	let sandbox: CloudApiSandbox;
	beforeAll(async () => {
		sandbox = await CloudApiSandbox.start();
	});
	afterAll(async () => {
		await sandbox.close();
	});
	const run = (data: Record<string, string>) =>
		whatsAppCloudApiTest.call({} as never, { id: '1', name: 'WhatsApp', type: 'whatsAppCloudApi', data });

	test('succeeds with the sandbox’s credentials and names the number', async () => {
		await expect(run(sandbox.credentials())).resolves.toEqual({
			status: 'OK',
			message: 'Connected to +1 555-010-0000 (Sandbox Shop)',
		});
		const request = sandbox.requests.at(-1)!;
		expect(request.path).toBe(`/v26.0/${sandbox.defaultPhoneNumberId}`);
		expect(request.query.fields).toBe('display_phone_number,verified_name,quality_rating');
	});

	test('shows Meta’s own message for a bad token', async () => {
		await expect(run(sandbox.credentials({ accessToken: 'wrong' }))).resolves.toEqual({
			status: 'Error',
			message: 'Invalid OAuth access token - Cannot parse access token (Meta error 190)',
		});
	});

	test('shows Meta’s own message for a wrong phone number id', async () => {
		const result = await run(sandbox.credentials({ phoneNumberId: '12345' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Object with ID '12345' does not exist.*\(Meta error 100\)/);
	});

	test('rejects a malformed API version before calling', async () => {
		const result = await run(sandbox.credentials({ apiVersion: '25' }));
		expect(result).toEqual({ status: 'Error', message: expect.stringContaining('not of the form v26.0') });
	});
});
