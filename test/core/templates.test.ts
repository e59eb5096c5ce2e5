import { buildComponents, optOutPathWarning, templateSlots, type TemplateDefinition } from '../../nodes/core/templates';
import { DEFAULT_TEMPLATES } from '../sandbox/templates.ts';

const byName = (name: string) => DEFAULT_TEMPLATES.find((t) => t.name === name)! as unknown as TemplateDefinition;

describe('templateSlots', () => {
	test('positional body, image header, quick reply and URL button', () => {
		expect(templateSlots(byName('spring_sale')).map((s) => [s.id, s.kind, s.required])).toEqual([
			['header.media', 'image', true],
			['body.1', 'text', true],
			['body.2', 'text', true],
			['body.3', 'text', true],
			['button.0.payload', 'payload', false],
			['button.1.url', 'url_suffix', true],
		]);
	});

	test('named parameters, in header and body, each once', () => {
		expect(templateSlots(byName('order_update')).map((s) => [s.id, s.parameterName])).toEqual([
			['header.order_id', 'order_id'],
			['body.first_name', 'first_name'],
			['body.order_id', 'order_id'],
			['body.ship_date', 'ship_date'],
		]);
	});

	test('copy-code button; a template without variables has no slots', () => {
		expect(templateSlots(byName('weekly_promo')).map((s) => s.id)).toEqual([
			'body.1',
			'body.2',
			'button.0.payload',
			'button.1.code',
		]);
		expect(templateSlots(byName('hello_world'))).toEqual([]);
	});
});

describe('buildComponents', () => {
	test('builds Meta’s components, URL suffix made URL-safe, optional payload omitted when empty', () => {
		const built = buildComponents(byName('spring_sale'), {
			'header.media': 'https://cdn.example.com/p.jpg',
			'body.1': 'Camille',
			'body.2': '12,50 €',
			'body.3': '1 mai',
			'button.1.url': 'ORD 123&x',
		});
		expect(built).toEqual({
			components: [
				{ type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.example.com/p.jpg' } }] },
				{
					type: 'body',
					parameters: [
						{ type: 'text', text: 'Camille' },
						{ type: 'text', text: '12,50 €' },
						{ type: 'text', text: '1 mai' },
					],
				},
				{ type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'ORD%20123&x' }] },
			],
		});
	});

	test('named templates carry parameter_name', () => {
		const built = buildComponents(byName('order_update'), {
			'header.order_id': 'A-1',
			'body.first_name': 'Jo',
			'body.order_id': 'A-1',
			'body.ship_date': 'Monday',
		});
		expect(built).toEqual({
			components: [
				{ type: 'header', parameters: [{ type: 'text', parameter_name: 'order_id', text: 'A-1' }] },
				{
					type: 'body',
					parameters: [
						{ type: 'text', parameter_name: 'first_name', text: 'Jo' },
						{ type: 'text', parameter_name: 'order_id', text: 'A-1' },
						{ type: 'text', parameter_name: 'ship_date', text: 'Monday' },
					],
				},
			],
		});
	});

	test.each([
		['a missing variable', { 'body.2': '20%', 'button.1.code': 'SAVE20' }, 'Body {{1}} is empty'],
		['a blank variable', { 'body.1': '  ', 'body.2': '20%', 'button.1.code': 'SAVE20' }, 'Body {{1}} is empty'],
		[
			'a newline',
			{ 'body.1': 'Ana\nMaria', 'body.2': '20%', 'button.1.code': 'SAVE20' },
			'Body {{1}} contains a newline, a tab or more than 4 consecutive spaces',
		],
		[
			'five spaces',
			{ 'body.1': 'Ana     Maria', 'body.2': '20%', 'button.1.code': 'SAVE20' },
			'Body {{1}} contains a newline, a tab or more than 4 consecutive spaces',
		],
		[
			'a long coupon code',
			{ 'body.1': 'Ana', 'body.2': '20%', 'button.1.code': 'THIS-CODE-IS-TOO-LONG' },
			'Button 2 Coupon Code is longer than 15 characters',
		],
		[
			'a too-long body value',
			{ 'body.1': 'x'.repeat(1025), 'body.2': '20%', 'button.1.code': 'SAVE20' },
			'Body {{1}} is longer than 1024 characters',
		],
	])('refuses %s', (_label, values, problem) => {
		expect(buildComponents(byName('weekly_promo'), values)).toEqual({ problems: [problem] });
	});

	test('refuses a media URL that is not http(s)', () => {
		const built = buildComponents(byName('spring_sale'), {
			'header.media': 'ftp://x/p.jpg',
			'body.1': 'a',
			'body.2': 'b',
			'body.3': 'c',
			'button.1.url': 'x',
		});
		expect(built).toEqual({ problems: ['Header Image URL or Media ID is neither an http(s) URL nor a media ID'] });
	});
});

describe('URL-button suffixes: appended by Meta as given, so only what a URL cannot hold is encoded', () => {
	test.each([
		['A17/details?x=1', 'A17/details?x=1'],
		['ORD 123', 'ORD%20123'],
		['café/menu', 'caf%C3%A9/menu'],
		['already%20encoded', 'already%20encoded'],
		['100% off', '100%25%20off'],
		['a"b<c>', 'a%22b%3Cc%3E'],
	])('%p is sent as %p', (suffix, sent) => {
		const built = buildComponents(byName('spring_sale'), {
			'header.media': 'https://cdn.example.com/p.jpg',
			'body.1': 'Camille',
			'body.2': '12,50 €',
			'body.3': '1 mai',
			'button.1.url': suffix,
		}) as { components: Array<Record<string, unknown>> };
		expect(built.components.at(-1)).toEqual({
			type: 'button',
			sub_type: 'url',
			index: '1',
			parameters: [{ type: 'text', text: sent }],
		});
	});
});

describe('typed parameters, media IDs and components mapped mode cannot build', () => {
	// Parameter shapes: WhatsApp's Node.js SDK reference (whatsapp.github.io/WhatsApp-Nodejs-SDK,
	// "Component Object", "Currency Object"); the template GET shapes: Meta's template reference.
	const priced: TemplateDefinition = {
		name: 'price_drop',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		parameter_format: 'NAMED',
		components: [
			{ type: 'HEADER', format: 'IMAGE' },
			{ type: 'BODY', text: 'Now {{price}} until {{until}}' },
		],
	};

	test('a currency and a date_time object become Meta’s typed parameters; a numeric header value is a media ID', () => {
		expect(
			buildComponents(priced, {
				'header.media': '1013859600285441',
				'body.price': { fallback_value: '$12.99', code: 'USD', amount_1000: 12990 },
				'body.until': { fallback_value: 'February 25, 1977' },
			}),
		).toEqual({
			components: [
				{ type: 'header', parameters: [{ type: 'image', image: { id: '1013859600285441' } }] },
				{
					type: 'body',
					parameters: [
						{
							type: 'currency',
							parameter_name: 'price',
							currency: { fallback_value: '$12.99', code: 'USD', amount_1000: 12990 },
						},
						{ type: 'date_time', parameter_name: 'until', date_time: { fallback_value: 'February 25, 1977' } },
					],
				},
			],
		});
	});

	test.each([
		[{ fallback_value: '$12.99', code: 'usd', amount_1000: 12990 }, 'currency code "usd"'],
		// Three capitals, but no ISO 4217 currency.
		[{ fallback_value: '12,99 €', code: 'EUX', amount_1000: 12990 }, 'currency code "EUX": use an ISO 4217 code'],
		[{ fallback_value: '$12.99', code: 'USD', amount_1000: 12.99 }, 'amount_1000 that is not a whole number'],
		[{ code: 'USD', amount_1000: 12990 }, 'is an object: map a text, a currency'],
		[{ price: 12 }, 'is an object: map a text, a currency'],
	])('%p is refused, never sent as JSON text: %s', (value, problem) => {
		const built = buildComponents(priced, {
			'header.media': 'https://cdn.example.com/a.jpg',
			'body.price': value,
			'body.until': 'soon',
		});
		expect(built).toEqual({ problems: [expect.stringContaining(problem)] });
	});

	test.each([
		[
			'single-product header',
			[
				{ type: 'HEADER', format: 'PRODUCT' },
				{ type: 'BODY', text: 'Have a look' },
			],
		],
		[
			'multi-product button',
			[
				{ type: 'BODY', text: 'Our picks' },
				{ type: 'BUTTONS', buttons: [{ type: 'MPM', text: 'View items' }] },
			],
		],
	])('a template with a %s is refused in mapped mode, naming it', (kind, components) => {
		const template: TemplateDefinition = {
			name: 'catalog',
			language: 'en_US',
			status: 'APPROVED',
			category: 'MARKETING',
			components: components as Array<Record<string, unknown>>,
		};
		expect(buildComponents(template, {})).toEqual({
			problems: [
				`Template catalog (en_US) has a ${kind}, which mapped variables cannot fill yet: give the components as JSON instead`,
			],
		});
	});

	test('a product card carousel (catalog products as card headers) is refused in mapped mode, naming it', () => {
		// pywa's test data, tests/data/templates/carousel/examples.json ("carousel_template_product_cards_v1").
		const template: TemplateDefinition = {
			name: 'carousel_template_product_cards_v1',
			language: 'en_US',
			status: 'APPROVED',
			category: 'MARKETING',
			components: [
				{ type: 'BODY', text: 'Rare succulents for sale! {{1}}, add these unique plants to your collection.' },
				{
					type: 'CAROUSEL',
					cards: [1, 2].map(() => ({
						components: [
							{ type: 'HEADER', format: 'PRODUCT' },
							{ type: 'BUTTONS', buttons: [{ type: 'SPM', text: 'View' }] },
						],
					})),
				},
			],
		};
		expect(buildComponents(template, { 'body.1': 'Pablo' })).toEqual({
			problems: [
				'Template carousel_template_product_cards_v1 (en_US) has a product card carousel, which mapped variables cannot fill yet: give the components as JSON instead',
			],
		});
	});
});

describe('optOutPathWarning', () => {
	test.each([
		['a quick reply “Stop promotions”', 'spring_sale', undefined],
		['a quick reply “Unsubscribe”', 'weekly_promo', undefined],
		['a utility template needs none', 'order_update', undefined],
	])('no warning with %s', (_label, name, expected) => {
		expect(optOutPathWarning(byName(name))).toBe(expected);
	});

	test('a marketing template with no way out is flagged; a footer naming STOP fixes it', () => {
		const bare: TemplateDefinition = {
			name: 'promo',
			language: 'en',
			status: 'APPROVED',
			category: 'MARKETING',
			components: [{ type: 'BODY', text: 'Big sale on {{1}}!' }],
		};
		expect(optOutPathWarning(bare)).toMatch(/^Marketing template promo \(en\) offers no way to opt out/);
		expect(
			optOutPathWarning({
				...bare,
				components: [...bare.components!, { type: 'FOOTER', text: 'Reply STOP to unsubscribe' }],
			}),
		).toBeUndefined();
		expect(
			optOutPathWarning({ ...bare, components: [...bare.components!, { type: 'FOOTER', text: 'Répondez ARRÊT' }] }),
		).toBeUndefined();
		// "Stopwatch" is not an opt-out keyword.
		expect(optOutPathWarning({ ...bare, components: [{ type: 'BODY', text: 'Win a stopwatch!' }] })).toBeDefined();
		expect(optOutPathWarning(bare, ['STOP_PROMOS'])).toBeUndefined();
	});
});
