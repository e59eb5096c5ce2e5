/**
 * Template kinds, table-driven (issue #19): each template as Meta's documentation defines it, the
 * values an operator maps, and the request components Meta's documented send example carries for it.
 * The body the node builds must be that body. Sources are noted beside each row; Meta's pages write
 * a button's `index` as a number or a string and `sub_type` in either case, so those two are compared
 * as Meta reads them (a string index, a lower-case sub_type).
 */
import { buildComponents, templateSlots, typedFields, type TemplateDefinition } from '../../nodes/core/templates';
import {
	checkTemplateComponents,
	DEFAULT_TEMPLATES,
	type TemplateDefinition as SandboxTemplate,
} from '../sandbox/templates.ts';

const carousel = DEFAULT_TEMPLATES.find((t) => t.name === 'carousel_template_media_cards_v1')!;
const slugs = ['BLUE_ELF', 'BUDDHA', 'BLACK_PRINCE'];

interface Kind {
	kind: string;
	source: string;
	template: TemplateDefinition;
	values: Record<string, unknown>;
	/** When the send happens (an offer's expiry must lie after it). */
	now?: number;
	documented: Array<Record<string, unknown>>;
}

/** As Meta reads a component (a carousel's cards too): a string button index, a lower-case sub_type. */
const asMetaReads = (components: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
	components.map((c) => ({
		...c,
		...(c.index !== undefined ? { index: String(c.index) } : {}),
		...(c.sub_type !== undefined ? { sub_type: String(c.sub_type).toLowerCase() } : {}),
		...(Array.isArray(c.cards)
			? {
					cards: (c.cards as Array<{ components: Array<Record<string, unknown>> }>).map((card) => ({
						...card,
						components: asMetaReads(card.components),
					})),
				}
			: {}),
	}));

const KINDS: Kind[] = [
	{
		kind: 'limited-time offer: image header by media ID, positional body, offer expiry, copy code, URL suffix',
		// The template: Meta's example, from pywa's test data (david-lev/pywa,
		// tests/data/templates/limited_time_offer/examples.json, commit 1af30ed). The send example: Meta's
		// "send a limited-time offer template" request as reproduced in docs.fast2sms.com
		// (reference/sendlimitedtimeoffertemplate) and docs.telepie.com (same components).
		source: 'pywa test data + Meta send example (fast2sms, telepie reproductions)',
		template: {
			name: 'limited_time_offer_caribbean_pkg_2023',
			language: 'en_US',
			status: 'APPROVED',
			category: 'MARKETING',
			components: [
				{ type: 'HEADER', format: 'IMAGE', example: { header_handle: ['4::aW...'] } },
				{ type: 'LIMITED_TIME_OFFER', limited_time_offer: { text: 'Expiring offer!', has_expiration: true } },
				{
					type: 'BODY',
					text: 'Good news, {{1}}! Use code {{2}} to get 25% off all Caribbean Destination packages!',
					example: { body_text: [['Pablo', 'CARIBE25']] },
				},
				{
					type: 'BUTTONS',
					buttons: [
						{ type: 'COPY_CODE', example: 'CARIBE25' },
						{
							type: 'URL',
							text: 'Book now!',
							url: 'https://awesomedestinations.com/offers?code={{1}}',
							example: ['https://awesomedestinations.com/offers?ref=n3mtql'],
						},
					],
				},
			],
		},
		values: {
			'header.media': '1166301034380136',
			'body.1': 'Harsh',
			'body.2': 'HOTS25',
			'offer.expiration': 1713961800000,
			'button.0.code': 'HOTS25',
			'button.1.url': 'n3mtql',
		},
		now: Date.parse('2024-04-20T00:00:00Z'),
		documented: [
			{ type: 'header', parameters: [{ type: 'image', image: { id: '1166301034380136' } }] },
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: 'Harsh' },
					{ type: 'text', text: 'HOTS25' },
				],
			},
			{
				type: 'limited_time_offer',
				parameters: [{ type: 'limited_time_offer', limited_time_offer: { expiration_time_ms: 1713961800000 } }],
			},
			{
				type: 'button',
				sub_type: 'copy_code',
				index: 0,
				parameters: [{ type: 'coupon_code', coupon_code: 'HOTS25' }],
			},
			{ type: 'button', sub_type: 'url', index: 1, parameters: [{ type: 'text', text: 'n3mtql' }] },
		],
	},
	{
		kind: 'media card carousel: message body, then every card with its index, image header, quick-reply payload and URL suffix',
		// The template: Meta's media card carousel example (pywa's test data, as the sandbox holds it).
		// The body: Meta's "Sending Media Card Carousel Templates" request syntax
		// (developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates/media-card-carousel-templates),
		// with the example's own values (the cards' URL examples are the slugs).
		source: 'pywa test data + Meta carousel send syntax',
		template: carousel as unknown as TemplateDefinition,
		values: {
			'body.1': 'Pablo',
			'body.2': '30%',
			'body.3': '30OFF',
			...Object.fromEntries(
				slugs.flatMap((slug, i) => [
					[`card.${i}.header.media`, `155849${i}4730112`],
					[`card.${i}.button.0.payload`, `more-${slug}`],
					[`card.${i}.button.1.url`, slug],
				]),
			),
		},
		documented: [
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: 'Pablo' },
					{ type: 'text', text: '30%' },
					{ type: 'text', text: '30OFF' },
				],
			},
			{
				type: 'carousel',
				cards: slugs.map((slug, i) => ({
					card_index: i,
					components: [
						{ type: 'header', parameters: [{ type: 'image', image: { id: `155849${i}4730112` } }] },
						{
							type: 'button',
							sub_type: 'quick_reply',
							index: 0,
							parameters: [{ type: 'payload', payload: `more-${slug}` }],
						},
						{ type: 'button', sub_type: 'url', index: 1, parameters: [{ type: 'text', text: slug }] },
					],
				})),
			},
		],
	},
	{
		kind: 'coupon code: text header, positional body, a quick reply without payload, the copy-code button',
		// Meta's coupon code template example ("Coupon Code Templates": coupon_code_fall2023_25off, header
		// "Our Fall Sale is on!", the body text and the 25OFF code of its example values; the quick reply's
		// label is a placeholder there) and Meta's "Sending Coupon Code Templates" syntax: a button of
		// sub_type COPY_CODE with its index and a coupon_code parameter.
		source: 'Meta coupon code template docs',
		template: {
			name: 'coupon_code_fall2023_25off',
			language: 'en_US',
			status: 'APPROVED',
			category: 'MARKETING',
			components: [
				{ type: 'HEADER', format: 'TEXT', text: 'Our Fall Sale is on!' },
				{
					type: 'BODY',
					text: 'Shop now through the end of December and use the one-time use code {{1}} to get {{2}} off of your entire order!',
				},
				{
					type: 'BUTTONS',
					buttons: [
						{ type: 'QUICK_REPLY', text: 'Unsubscribe' },
						{ type: 'COPY_CODE', example: '25OFF' },
					],
				},
			],
		},
		values: { 'body.1': '25OFF', 'body.2': '25%', 'button.0.payload': '', 'button.1.code': '25OFF' },
		documented: [
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: '25OFF' },
					{ type: 'text', text: '25%' },
				],
			},
			{
				type: 'button',
				sub_type: 'COPY_CODE',
				index: 1,
				parameters: [{ type: 'coupon_code', coupon_code: '25OFF' }],
			},
		],
	},
	{
		kind: 'typed body parameters: currency and date_time',
		// WhatsApp's Node.js SDK reference (whatsapp.github.io/WhatsApp-Nodejs-SDK, "Currency Object" and
		// the template example's body parameters): fallback_value "$100.99", code USD, amount_1000 100990;
		// date_time fallback_value "February 25, 1977".
		source: 'WhatsApp Node.js SDK reference',
		template: {
			name: 'payment_due',
			language: 'en_US',
			status: 'APPROVED',
			category: 'UTILITY',
			components: [{ type: 'BODY', text: 'You owe {{1}} since {{2}}.' }],
		},
		values: {
			'body.1': { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 },
			'body.2': { fallback_value: 'February 25, 1977' },
		},
		documented: [
			{
				type: 'body',
				parameters: [
					{ type: 'currency', currency: { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 } },
					{ type: 'date_time', date_time: { fallback_value: 'February 25, 1977' } },
				],
			},
		],
	},
	{
		kind: 'named parameters and a location header (name and address given at send time)',
		// The template: Meta's location template example ("Location templates", developers.facebook.com/
		// documentation/business-messaging/whatsapp/templates/utility-templates/location-templates: named
		// body parameters customer_name "Mark", order_number "566701", a footer and a quick reply), as the
		// GET returns it (upper-case types) and the sandbox holds it. The body: the location header syntax of Meta's template
		// components reference ({ type: location, location: { latitude, longitude, name, address } }) and the
		// named parameter syntax (`parameter_name` beside `text`), with the example's values.
		source: 'Meta location templates + components reference',
		template: DEFAULT_TEMPLATES.find((t) => t.name === 'order_delivery_update') as unknown as TemplateDefinition,
		values: {
			'header.media': {
				latitude: 37.483307,
				longitude: -122.148981,
				name: 'Pablo Morales',
				address: '1 Hacker Way, Menlo Park, CA 94025',
			},
			'body.customer_name': 'Mark',
			'body.order_number': '566701',
			'button.0.payload': '',
		},
		documented: [
			{
				type: 'header',
				parameters: [
					{
						type: 'location',
						location: {
							latitude: 37.483307,
							longitude: -122.148981,
							name: 'Pablo Morales',
							address: '1 Hacker Way, Menlo Park, CA 94025',
						},
					},
				],
			},
			{
				type: 'body',
				parameters: [
					{ type: 'text', parameter_name: 'customer_name', text: 'Mark' },
					{ type: 'text', parameter_name: 'order_number', text: '566701' },
				],
			},
		],
	},
	{
		kind: 'document header by link, positional body, a phone and a static URL button (no button parameters)',
		// The template: Meta's order_confirmation example (pywa's test data,
		// tests/data/templates/buttons/examples.json). The body: the media header syntax of Meta's components
		// reference ({ type: document, document: { link } }); a phone or static URL button takes no parameter.
		source: 'pywa test data + Meta components reference',
		template: {
			name: 'order_confirmation',
			language: 'en_US',
			status: 'APPROVED',
			category: 'UTILITY',
			components: [
				{ type: 'HEADER', format: 'DOCUMENT', example: { header_handle: ['4::YX...'] } },
				{
					type: 'BODY',
					text: 'Thank you for your order, {{1}}! Your order number is {{2}}. Tap the PDF linked above to view your receipt. If you have any questions, please use the buttons below to contact support. Thank you for being a customer!',
					example: { body_text: [['Pablo', '860198-230332']] },
				},
				{
					type: 'BUTTONS',
					buttons: [
						{ type: 'PHONE_NUMBER', text: 'Call', phone_number: '15550051310' },
						{ type: 'URL', text: 'Contact Support', url: 'https://www.luckyshrub.com/support' },
					],
				},
			],
		},
		values: {
			'header.media': 'https://www.luckyshrub.com/receipts/860198-230332.pdf',
			'body.1': 'Pablo',
			'body.2': '860198-230332',
		},
		documented: [
			{
				type: 'header',
				parameters: [{ type: 'document', document: { link: 'https://www.luckyshrub.com/receipts/860198-230332.pdf' } }],
			},
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: 'Pablo' },
					{ type: 'text', text: '860198-230332' },
				],
			},
		],
	},
	{
		kind: 'text header variable, positional body, two quick replies with payloads',
		// The template: Meta's seasonal_promotion example (pywa's test data, buttons/examples.json), with its
		// example values. The body: Meta's quick-reply button syntax (sub_type quick_reply, its index, one
		// payload parameter).
		source: 'pywa test data + Meta quick-reply syntax',
		template: {
			name: 'seasonal_promotion',
			language: 'en_US',
			status: 'APPROVED',
			category: 'MARKETING',
			components: [
				{ type: 'HEADER', format: 'TEXT', text: 'Our {{1}} is on!', example: { header_text: ['Summer Sale'] } },
				{
					type: 'BODY',
					text: 'Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.',
					example: { body_text: [['the end of August', '25OFF', '25%']] },
				},
				{ type: 'FOOTER', text: 'Use the buttons below to manage your MARKETING subscriptions' },
				{
					type: 'BUTTONS',
					buttons: [
						{ type: 'QUICK_REPLY', text: 'Unsubscribe from Promos' },
						{ type: 'QUICK_REPLY', text: 'Unsubscribe from All' },
					],
				},
			],
		},
		values: {
			'header.1': 'Summer Sale',
			'body.1': 'the end of August',
			'body.2': '25OFF',
			'body.3': '25%',
			'button.0.payload': 'UNSUBSCRIBE_PROMOS',
			'button.1.payload': 'UNSUBSCRIBE_ALL',
		},
		documented: [
			{ type: 'header', parameters: [{ type: 'text', text: 'Summer Sale' }] },
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: 'the end of August' },
					{ type: 'text', text: '25OFF' },
					{ type: 'text', text: '25%' },
				],
			},
			{
				type: 'button',
				sub_type: 'quick_reply',
				index: '0',
				parameters: [{ type: 'payload', payload: 'UNSUBSCRIBE_PROMOS' }],
			},
			{
				type: 'button',
				sub_type: 'quick_reply',
				index: '1',
				parameters: [{ type: 'payload', payload: 'UNSUBSCRIBE_ALL' }],
			},
		],
	},
	{
		kind: 'authentication, copy code: the code in the body and in the button’s URL',
		// The template: a copy-code authentication template as Meta's GET returns it (the OTP button created
		// becomes a URL button ending in otp{{1}}, as 360dialog's docs note), from a real GET response kept
		// in a public project's data (template explore_flow_otp, id 1261130995521319). The body: Meta's
		// "Sending authentication templates" example request (verification_code, J$FpnYnP "must appear
		// twice in the payload").
		source: 'real GET response + Meta authentication send example',
		template: {
			name: 'explore_flow_otp',
			language: 'en',
			status: 'APPROVED',
			category: 'AUTHENTICATION',
			parameter_format: 'POSITIONAL',
			components: [
				{
					type: 'BODY',
					text: '*{{1}}* is your verification code. For your security, do not share this code.',
					add_security_recommendation: true,
					example: { body_text: [['123456']] },
				},
				{ type: 'FOOTER', text: 'This code expires in 10 minutes.', code_expiration_minutes: 10 },
				{
					type: 'BUTTONS',
					buttons: [
						{
							type: 'URL',
							text: 'Copy code',
							url: 'https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp{{1}}',
							example: [
								'https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp123456',
							],
						},
					],
				},
			],
		},
		values: { 'body.1': 'J$FpnYnP', 'button.0.url': 'J$FpnYnP' },
		documented: [
			{ type: 'body', parameters: [{ type: 'text', text: 'J$FpnYnP' }] },
			{ type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'J$FpnYnP' }] },
		],
	},
	{
		kind: 'catalog: positional body and the catalog button with its thumbnail product',
		// The template: Meta's intro_catalog_offer example (pywa's test data, buttons/examples.json, as the
		// sandbox holds it). The body:
		// Meta's "Sending catalog template messages" syntax (a button of sub_type CATALOG, index 0, one action
		// parameter with thumbnail_product_retailer_id, optional), as gupshup's and chatarchitect's copies of
		// it show; the SKU is pywa's CatalogButton example.
		source: 'pywa test data + Meta catalog template send syntax',
		template: DEFAULT_TEMPLATES.find((t) => t.name === 'intro_catalog_offer') as unknown as TemplateDefinition,
		values: { 'body.1': '100', 'body.2': '400', 'body.3': '3', 'button.0.thumbnail': 'SKU12345' },
		documented: [
			{
				type: 'body',
				parameters: [
					{ type: 'text', text: '100' },
					{ type: 'text', text: '400' },
					{ type: 'text', text: '3' },
				],
			},
			{
				type: 'button',
				sub_type: 'CATALOG',
				index: 0,
				parameters: [{ type: 'action', action: { thumbnail_product_retailer_id: 'SKU12345' } }],
			},
		],
	},
	{
		kind: 'Flow: the Flow button with a token and the first screen’s data',
		// The template: a Flow template as Meta's "Sending a Flow" guide creates it (the sandbox holds it).
		// The body: Meta's "Send a message template with a Flow" request as docs.fast2sms.com
		// (reference/sendflowstemplate) reproduces it: sub_type flow, index "0", one action parameter with
		// flow_token "FLOW_TOKEN" and flow_action_data { key: "value" }.
		source: 'Meta Flows guide + Meta Flow template send example (fast2sms reproduction)',
		template: DEFAULT_TEMPLATES.find((t) => t.name === 'example_flow_template') as unknown as TemplateDefinition,
		values: { 'button.0.flow_token': 'FLOW_TOKEN', 'button.0.flow_data': '{ "key": "value" }' },
		documented: [
			{
				type: 'button',
				sub_type: 'flow',
				index: '0',
				parameters: [{ type: 'action', action: { flow_token: 'FLOW_TOKEN', flow_action_data: { key: 'value' } } }],
			},
		],
	},
];

describe.each(KINDS)('$kind ($source)', ({ template, values, now, documented }) => {
	test('the slots cover every value Meta’s example gives', () => {
		expect(
			templateSlots(template)
				.map((s) => s.id)
				.sort(),
		).toEqual(Object.keys(values).sort());
	});

	test('builds Meta’s documented components', () => {
		const built = buildComponents(template, values, now);
		expect('components' in built ? asMetaReads(built.components) : built).toEqual(asMetaReads(documented));
	});

	test('the sandbox takes Meta’s documented components as Meta would', () => {
		jest.useFakeTimers({ now: now ?? Date.now(), doNotFake: ['setTimeout', 'setImmediate', 'nextTick'] });
		try {
			expect(checkTemplateComponents(template as unknown as SandboxTemplate, documented)).toBeUndefined();
		} finally {
			jest.useRealTimers();
		}
	});
});

describe('typed parameters from their own fields (hidden in the panel until added)', () => {
	const template = KINDS.find((k) => k.kind.startsWith('typed body'))!.template;
	test('every body variable offers a currency code, an amount × 1000 and a date/time field', () => {
		expect(typedFields(template).map((f) => f.id)).toEqual([
			'body.1.currency_code',
			'body.1.amount_1000',
			'body.1.date_time',
			'body.2.currency_code',
			'body.2.amount_1000',
			'body.2.date_time',
		]);
	});

	test('the variable’s text is the fallback; the fields make it Meta’s currency or date_time', () => {
		const built = buildComponents(template, {
			'body.1': '$100.99',
			'body.1.currency_code': 'USD',
			'body.1.amount_1000': '100990',
			'body.2': 'February 25, 1977',
			'body.2.date_time': true,
		});
		expect(built).toEqual({ components: KINDS.find((k) => k.kind.startsWith('typed body'))!.documented });
	});

	test.each([
		['a lower-case code', { 'body.1.currency_code': 'usd', 'body.1.amount_1000': 100990 }, 'ISO 4217'],
		['a code without an amount', { 'body.1.currency_code': 'USD' }, 'amount_1000'],
		['an amount in units, not × 1000', { 'body.1.currency_code': 'USD', 'body.1.amount_1000': 100.99 }, 'amount_1000'],
	])('%s is refused before any call', (_, fields, problem) => {
		expect(buildComponents(template, { 'body.1': '$100.99', 'body.2': 'today', ...fields })).toEqual({
			problems: [expect.stringContaining(problem)],
		});
	});
});

describe('Flow and catalog buttons without their optional values', () => {
	const flow = KINDS.find((k) => k.kind.startsWith('Flow'))!;
	const catalog = KINDS.find((k) => k.kind.startsWith('catalog'))!;
	test('a Flow button still goes out, with Meta’s default token', () => {
		const built = buildComponents(flow.template, {});
		expect(built).toEqual({
			components: [
				{
					type: 'button',
					sub_type: 'flow',
					index: '0',
					parameters: [{ type: 'action', action: { flow_token: 'unused' } }],
				},
			],
		});
		expect(
			checkTemplateComponents(
				flow.template as unknown as SandboxTemplate,
				(built as { components: unknown }).components,
			),
		).toBeUndefined();
	});

	test('Flow data that is not a JSON object is refused before any call', () => {
		expect(buildComponents(flow.template, { 'button.0.flow_data': '[1, 2]' })).toEqual({
			problems: [expect.stringContaining('is not a JSON object')],
		});
	});

	test('a catalog button without a thumbnail goes out without a parameter (the catalog’s first item heads it)', () => {
		const built = buildComponents(catalog.template, { ...catalog.values, 'button.0.thumbnail': '' });
		expect('components' in built && built.components.at(-1)).toEqual({
			type: 'button',
			sub_type: 'CATALOG',
			index: '0',
		});
	});
});

describe('limited-time offer expiry', () => {
	const offer = KINDS[0];
	test.each([
		['an ISO date', '2024-04-24T12:30:00Z', 1713961800000],
		['Unix seconds', 1713961800, 1713961800000],
		['Unix ms as text', '1713961800000', 1713961800000],
	])('%s is taken', (_, value, ms) => {
		const built = buildComponents(offer.template, { ...offer.values, 'offer.expiration': value }, offer.now);
		expect('components' in built && built.components[2]).toEqual({
			type: 'limited_time_offer',
			parameters: [{ type: 'limited_time_offer', limited_time_offer: { expiration_time_ms: ms } }],
		});
	});

	test.each([
		['a past expiry', 1_600_000_000_000, 'is not in the future'],
		['no date', 'next week', 'is neither an ISO date nor a Unix time'],
	])('%s is refused before any call', (_, value, problem) => {
		expect(buildComponents(offer.template, { ...offer.values, 'offer.expiration': value }, offer.now)).toEqual({
			problems: [expect.stringContaining(problem)],
		});
	});
});
