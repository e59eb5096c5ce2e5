/**
 * Template kinds, table-driven (issue #19): each template as Meta's documentation defines it, the
 * values an operator maps, and the request components Meta's documented send example carries for it.
 * The body the node builds must be that body. Sources are noted beside each row; Meta's pages write
 * a button's `index` as a number or a string and `sub_type` in either case, so those two are compared
 * as Meta reads them (a string index, a lower-case sub_type).
 */
import { buildComponents, templateSlots, type TemplateDefinition } from '../../nodes/core/templates';
import { DEFAULT_TEMPLATES } from '../sandbox/templates.ts';

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
