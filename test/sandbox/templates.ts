/**
 * Template definitions as Meta returns them from `GET /{waba-id}/message_templates`, and the
 * sandbox's check of a send request against them. Deliberately independent of nodes/: the sandbox is
 * the ground truth the package is tested against, so it must not share the package's own rules.
 */

export interface TemplateButtonDefinition {
	type: 'QUICK_REPLY' | 'URL' | 'COPY_CODE' | 'PHONE_NUMBER' | 'FLOW' | 'CATALOG' | 'MPM' | 'SPM';
	text: string;
	url?: string;
	example?: string[];
	flow_id?: string;
	flow_action?: string;
	navigate_screen?: string;
}

export interface TemplateComponentDefinition {
	type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS' | 'LIMITED_TIME_OFFER' | 'CAROUSEL';
	add_security_recommendation?: boolean;
	format?: 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION' | 'PRODUCT';
	text?: string;
	buttons?: TemplateButtonDefinition[];
	limited_time_offer?: { text: string; has_expiration?: boolean };
	cards?: Array<{ components: TemplateComponentDefinition[] }>;
	/** Meta's sample values, as the GET returns them (the sandbox does not read them). */
	example?: Record<string, unknown>;
}

export interface TemplateDefinition {
	id: string;
	name: string;
	language: string;
	status: 'APPROVED' | 'PENDING' | 'REJECTED' | 'PAUSED' | 'DISABLED';
	category: 'MARKETING' | 'UTILITY' | 'AUTHENTICATION';
	parameter_format?: 'POSITIONAL' | 'NAMED';
	components: TemplateComponentDefinition[];
}

/** One card of Meta's media card carousel example: an image header, its text, a quick reply and a Shop URL. */
const mediaCard = (text: string, slug: string): { components: TemplateComponentDefinition[] } => ({
	components: [
		{ type: 'HEADER', format: 'IMAGE' },
		{ type: 'BODY', text },
		{
			type: 'BUTTONS',
			buttons: [
				{ type: 'QUICK_REPLY', text: 'Send me more like this!' },
				{ type: 'URL', text: 'Shop', url: 'https://www.luckyshrub.com/rare-succulents/{{1}}', example: [slug] },
			],
		},
	],
});

export const DEFAULT_TEMPLATES: TemplateDefinition[] = [
	{
		id: '1001',
		name: 'spring_sale',
		language: 'fr',
		status: 'APPROVED',
		category: 'MARKETING',
		parameter_format: 'POSITIONAL',
		components: [
			{ type: 'HEADER', format: 'IMAGE' },
			{ type: 'BODY', text: 'Bonjour {{1}}, votre remise de {{2}} est valable jusqu’au {{3}}.' },
			{ type: 'FOOTER', text: 'Répondez STOP pour ne plus recevoir nos offres' },
			{
				type: 'BUTTONS',
				buttons: [
					{ type: 'QUICK_REPLY', text: 'Stop promotions' },
					{ type: 'URL', text: 'Voir la commande', url: 'https://shop.example.com/orders/{{1}}' },
				],
			},
		],
	},
	{
		id: '1002',
		name: 'order_update',
		language: 'en_US',
		status: 'APPROVED',
		category: 'UTILITY',
		parameter_format: 'NAMED',
		components: [
			{ type: 'HEADER', format: 'TEXT', text: 'Order {{order_id}}' },
			{ type: 'BODY', text: 'Hi {{first_name}}, your order {{order_id}} ships on {{ship_date}}.' },
		],
	},
	{
		id: '1003',
		name: 'hello_world',
		language: 'en_US',
		status: 'APPROVED',
		category: 'UTILITY',
		components: [{ type: 'BODY', text: 'Hello World' }],
	},
	{
		id: '1004',
		name: 'weekly_promo',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		parameter_format: 'POSITIONAL',
		components: [
			{ type: 'BODY', text: 'Hi {{1}}, this week only: {{2}} off everything.' },
			{
				type: 'BUTTONS',
				buttons: [
					{ type: 'QUICK_REPLY', text: 'Unsubscribe' },
					{ type: 'COPY_CODE', text: 'Copy code', example: ['SAVE20'] },
				],
			},
		],
	},
	{
		// Meta's limited-time offer example, as pywa's test data holds it
		// (david-lev/pywa, tests/data/templates/limited_time_offer/examples.json, commit 1af30ed).
		id: '1006',
		name: 'limited_time_offer_caribbean_pkg_2023',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{ type: 'HEADER', format: 'IMAGE' },
			{ type: 'LIMITED_TIME_OFFER', limited_time_offer: { text: 'Expiring offer!', has_expiration: true } },
			{
				type: 'BODY',
				text: 'Good news, {{1}}! Use code {{2}} to get 25% off all Caribbean Destination packages!',
			},
			{
				type: 'BUTTONS',
				buttons: [
					{ type: 'COPY_CODE', text: 'Copy offer code', example: ['CARIBE25'] },
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
	{
		// Meta's media card carousel example, as pywa's test data holds it
		// (david-lev/pywa, tests/data/templates/carousel/examples.json, commit a2aa713).
		id: '1007',
		name: 'carousel_template_media_cards_v1',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{
				type: 'BODY',
				text: 'Rare succulents for sale! {{1}}, add these unique plants to your collection. Each of these rare succulents are {{2}} if you checkout using code {{3}}. Shop now and add some unique and beautiful plants to your collection!',
			},
			{
				type: 'CAROUSEL',
				cards: [
					mediaCard(
						"Add a touch of elegance to your collection with the beautiful Aloe 'Blue Elf' succulent. Its deep blue-green leaves have a hint of pink around the edges.",
						'BLUE_ELF',
					),
					mediaCard(
						"The Crassula Buddha's Temple is sure to be a conversation starter with its tiny temple shaped leaves, intricate details, and lacy texture.",
						'BUDDHA',
					),
					mediaCard(
						"The Echeveria 'Black Prince' is a stunning succulent, with near-black leaves, adorned with a hint of green around the edges, giving it its striking appearance.",
						'BLACK_PRINCE',
					),
				],
			},
		],
	},
	{
		id: '1005',
		name: 'legacy_offer',
		language: 'en_US',
		status: 'PAUSED',
		category: 'MARKETING',
		components: [{ type: 'BODY', text: 'An old offer' }],
	},
	// Meta's catalog template example (pywa's test data, tests/data/templates/buttons/examples.json).
	{
		id: '1006',
		name: 'intro_catalog_offer',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{
				type: 'BODY',
				text: 'Now shop for your favourite products right here on WhatsApp! Get Rs {{1}} off on all orders above {{2}}Rs! Valid for your first {{3}} orders placed on WhatsApp!',
			},
			{ type: 'FOOTER', text: 'Best grocery deals on WhatsApp!' },
			{ type: 'BUTTONS', buttons: [{ type: 'CATALOG', text: 'View catalog' }] },
		],
	},
	// Meta's location template example (developers.facebook.com/documentation/business-messaging/whatsapp/
	// templates/utility-templates/location-templates), named parameters, as the GET returns it (upper-case
	// types, the named examples).
	{
		id: '1008',
		name: 'order_delivery_update',
		language: 'en_US',
		status: 'APPROVED',
		category: 'UTILITY',
		parameter_format: 'NAMED',
		components: [
			{ type: 'HEADER', format: 'LOCATION' },
			{
				type: 'BODY',
				text: 'Good news {{customer_name}}! Your order #{{order_number}} is on its way to the location above.',
				example: {
					body_text_named_params: [
						{ param_name: 'customer_name', example: 'Mark' },
						{ param_name: 'order_number', example: '566701' },
					],
				},
			},
			{ type: 'FOOTER', text: 'To stop receiving delivery updates, tap the button below.' },
			{ type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Stop Delivery Updates' }] },
		],
	},
	// A copy-code authentication template as Meta's GET returns it (the OTP button becomes a URL button
	// ending in otp{{1}}; from a real GET response kept in a public project's data).
	{
		id: '1009',
		name: 'verification_code',
		language: 'en_US',
		status: 'APPROVED',
		category: 'AUTHENTICATION',
		parameter_format: 'POSITIONAL',
		components: [
			{
				type: 'BODY',
				text: '*{{1}}* is your verification code. For your security, do not share this code.',
				add_security_recommendation: true,
			},
			{ type: 'FOOTER', text: 'This code expires in 10 minutes.' },
			{
				type: 'BUTTONS',
				buttons: [
					{
						type: 'URL',
						text: 'Copy code',
						url: 'https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp{{1}}',
					},
				],
			},
		],
	},
	// Meta's single-product and multi-product examples (pywa's test data, buttons/examples.json): the
	// products are chosen at send time, which mapped mode refuses.
	{
		id: '1010',
		name: 'abandoned_cart_offer',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{ type: 'HEADER', format: 'PRODUCT' },
			{ type: 'BODY', text: 'Use code {{1}} to get {{2}} off our newest succulent!' },
			{ type: 'FOOTER', text: 'Offer ends September 30, 2024' },
			{ type: 'BUTTONS', buttons: [{ type: 'SPM', text: 'View' }] },
		],
	},
	{
		id: '1011',
		name: 'abandoned_cart',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{ type: 'HEADER', format: 'TEXT', text: 'Forget something, {{1}}?' },
			{
				type: 'BODY',
				text: 'Looks like you left these items in your cart, still interested? Use code {{1}} to get 10% off!',
			},
			{ type: 'BUTTONS', buttons: [{ type: 'MPM', text: 'View items' }] },
		],
	},
	// A Flow template as Meta's "Sending a Flow" guide creates it (a body and one FLOW button that
	// navigates to the Flow's first screen).
	{
		id: '1007',
		name: 'example_flow_template',
		language: 'en_US',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{ type: 'BODY', text: 'This is a flow as template demo' },
			{
				type: 'BUTTONS',
				buttons: [
					{
						type: 'FLOW',
						text: 'Open flow!',
						flow_id: '1234567890',
						flow_action: 'NAVIGATE',
						navigate_screen: 'WELCOME_SCREEN',
					},
				],
			},
		],
	},
];

/** A rejection in Meta's terms: the code and message the Graph API would answer with. */
export interface TemplateRejection {
	code: number;
	httpStatus: number;
	message: string;
	details: string;
}

const reject = (code: number, message: string, details: string, httpStatus = 400): TemplateRejection => ({
	code,
	httpStatus,
	message,
	details,
});

const PARAM_COUNT = (details: string) =>
	reject(132000, '(#132000) Number of parameters does not match the expected number of params', details);
const PARAM_FORMAT = (details: string) =>
	reject(132012, '(#132012) Parameter format does not match format in the created template', details);

/** The variables of a text, in order of first appearance: `{{1}}` → "1", `{{first_name}}` → "first_name". */
export function templateVariables(text: string | undefined): string[] {
	const names: string[] = [];
	for (const match of (text ?? '').matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)) {
		if (!names.includes(match[1])) names.push(match[1]);
	}
	return names;
}

type Parameter = Record<string, unknown>;
type SentComponent = { type?: string; sub_type?: string; index?: string | number; parameters?: Parameter[] };

function isNonEmptyString(value: unknown): value is string {
	return typeof value === 'string' && value.trim().length > 0;
}

function checkMedia(kind: string, parameter: Parameter): TemplateRejection | undefined {
	const media = parameter[kind] as Record<string, unknown> | undefined;
	if (parameter.type !== kind || typeof media !== 'object' || media === null) {
		return PARAM_FORMAT(`header expects a ${kind} parameter`);
	}
	const hasLink = isNonEmptyString(media.link);
	const hasId = isNonEmptyString(media.id);
	if (hasLink === hasId) return PARAM_FORMAT(`${kind} needs exactly one of link or id`);
	if (hasLink) {
		try {
			const url = new URL(media.link as string);
			if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
		} catch {
			return PARAM_FORMAT(`${kind}.link is not a valid URL`);
		}
	}
	return undefined;
}

/** Body and header text parameters: Meta's own limits on what a variable may contain. */
function checkTextParameter(
	parameter: Parameter,
	where: string,
	allowNewlines: boolean,
): TemplateRejection | undefined {
	switch (parameter.type) {
		case 'text': {
			if (!isNonEmptyString(parameter.text)) return PARAM_FORMAT(`${where}: text parameter is empty`);
			if (!allowNewlines && /[\n\t]| {5,}/.test(parameter.text)) {
				return reject(
					132018,
					'(#132018) There was an issue with the parameters in your template.',
					'Param text cannot have new-line/tab characters or more than 4 consecutive spaces',
				);
			}
			return undefined;
		}
		case 'currency': {
			const currency = parameter.currency as Record<string, unknown> | undefined;
			if (
				!currency ||
				!isNonEmptyString(currency.fallback_value) ||
				!/^[A-Z]{3}$/.test(String(currency.code)) ||
				!Number.isInteger(currency.amount_1000)
			) {
				return PARAM_FORMAT(`${where}: currency needs fallback_value, a 3-letter code and an integer amount_1000`);
			}
			return undefined;
		}
		case 'date_time': {
			const dateTime = parameter.date_time as Record<string, unknown> | undefined;
			if (!dateTime || !isNonEmptyString(dateTime.fallback_value))
				return PARAM_FORMAT(`${where}: date_time needs fallback_value`);
			return undefined;
		}
		default:
			return PARAM_FORMAT(`${where}: unsupported parameter type ${String(parameter.type)}`);
	}
}

function checkVariables(
	template: TemplateDefinition,
	where: string,
	variables: string[],
	parameters: Parameter[],
	allowNewlines: boolean,
): TemplateRejection | undefined {
	if (parameters.length !== variables.length) {
		return PARAM_COUNT(`${where}: expected ${variables.length} parameters, received ${parameters.length}`);
	}
	const named = template.parameter_format === 'NAMED';
	for (const parameter of parameters) {
		if (named) {
			if (!variables.includes(String(parameter.parameter_name))) {
				return PARAM_COUNT(`${where}: unknown parameter_name ${String(parameter.parameter_name)}`);
			}
		} else if (parameter.parameter_name !== undefined) {
			return PARAM_FORMAT(`${where}: positional template received a named parameter`);
		}
		const problem = checkTextParameter(parameter, where, allowNewlines);
		if (problem) return problem;
	}
	if (named) {
		const given = new Set(parameters.map((p) => String(p.parameter_name)));
		if (given.size !== variables.length) return PARAM_COUNT(`${where}: a named parameter is repeated`);
	}
	return undefined;
}

function checkButton(
	button: TemplateButtonDefinition,
	index: number,
	sent: SentComponent | undefined,
): TemplateRejection | undefined {
	const where = `button ${index}`;
	const parameters = sent?.parameters ?? [];
	switch (button.type) {
		case 'URL': {
			const variables = templateVariables(button.url);
			if (variables.length === 0) return sent ? PARAM_COUNT(`${where}: static URL takes no parameter`) : undefined;
			if (!sent || parameters.length !== 1) return PARAM_COUNT(`${where}: URL button needs one text parameter`);
			if (String(sent.sub_type).toLowerCase() !== 'url') return PARAM_FORMAT(`${where}: sub_type must be url`);
			const suffix = parameters[0];
			if (suffix.type !== 'text' || !isNonEmptyString(suffix.text))
				return PARAM_FORMAT(`${where}: URL suffix must be non-empty text`);
			if (/[\s]/.test(suffix.text)) return PARAM_FORMAT(`${where}: URL suffix must be percent-encoded`);
			return undefined;
		}
		case 'QUICK_REPLY': {
			if (!sent) return undefined;
			if (String(sent.sub_type).toLowerCase() !== 'quick_reply')
				return PARAM_FORMAT(`${where}: sub_type must be quick_reply`);
			if (parameters.length !== 1 || parameters[0].type !== 'payload' || !isNonEmptyString(parameters[0].payload)) {
				return PARAM_FORMAT(`${where}: quick_reply takes one payload parameter`);
			}
			return undefined;
		}
		case 'COPY_CODE': {
			if (!sent || parameters.length !== 1) return PARAM_COUNT(`${where}: copy_code needs one coupon_code parameter`);
			if (String(sent.sub_type).toLowerCase() !== 'copy_code')
				return PARAM_FORMAT(`${where}: sub_type must be copy_code`);
			if (
				parameters[0].type !== 'coupon_code' ||
				!isNonEmptyString(parameters[0].coupon_code) ||
				String(parameters[0].coupon_code).length > 15
			) {
				return PARAM_FORMAT(`${where}: coupon_code must be 1–15 characters`);
			}
			return undefined;
		}
		case 'FLOW': {
			// Meta's "Send a message template with a Flow": sub_type flow, one `action` parameter whose
			// flow_token (a string) and flow_action_data (an object) are both optional.
			if (!sent) return undefined;
			if (String(sent.sub_type).toLowerCase() !== 'flow') return PARAM_FORMAT(`${where}: sub_type must be flow`);
			const action = parameters[0]?.action as Record<string, unknown> | undefined;
			if (parameters.length !== 1 || parameters[0].type !== 'action' || !action || typeof action !== 'object')
				return PARAM_FORMAT(`${where}: a Flow button takes one action parameter`);
			if (action.flow_token !== undefined && !isNonEmptyString(action.flow_token))
				return PARAM_FORMAT(`${where}: flow_token must be a string`);
			const data = action.flow_action_data;
			if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data)))
				return PARAM_FORMAT(`${where}: flow_action_data must be an object`);
			return undefined;
		}
		case 'CATALOG': {
			// Meta's catalog template send: sub_type CATALOG; the thumbnail product, when given, as an
			// `action` parameter with thumbnail_product_retailer_id.
			if (!sent) return undefined;
			if (String(sent.sub_type).toLowerCase() !== 'catalog') return PARAM_FORMAT(`${where}: sub_type must be CATALOG`);
			if (!parameters.length) return undefined;
			const action = parameters[0]?.action as Record<string, unknown> | undefined;
			if (
				parameters.length !== 1 ||
				parameters[0].type !== 'action' ||
				!isNonEmptyString(action?.thumbnail_product_retailer_id)
			)
				return PARAM_FORMAT(`${where}: a catalog button takes one action with thumbnail_product_retailer_id`);
			return undefined;
		}
		default:
			return sent ? PARAM_COUNT(`${where}: this button takes no parameter`) : undefined;
	}
}

/** Checks the `components` of a send request against the template; undefined when Meta would accept it. */
export function checkTemplateComponents(
	template: TemplateDefinition,
	sentComponents: unknown,
): TemplateRejection | undefined {
	if (sentComponents !== undefined && !Array.isArray(sentComponents)) {
		return reject(100, '(#100) Invalid parameter', 'template.components must be an array');
	}
	const sent = (sentComponents ?? []) as SentComponent[];
	const byType = (type: string) => sent.filter((c) => String(c.type).toLowerCase() === type);

	for (const component of sent) {
		if (
			!['header', 'body', 'button', 'limited_time_offer', 'carousel'].includes(String(component.type).toLowerCase())
		) {
			return reject(100, '(#100) Invalid parameter', `unknown component type ${String(component.type)}`);
		}
	}

	// A limited-time offer that shows its expiry takes it at send time: one parameter with
	// `expiration_time_ms` (Meta's "limited-time offer templates" send example), in the future.
	const offer = template.components.find((c) => c.type === 'LIMITED_TIME_OFFER');
	const sentOffers = byType('limited_time_offer');
	if (!offer && sentOffers.length) return PARAM_COUNT('template has no limited-time offer');
	if (offer?.limited_time_offer?.has_expiration) {
		const parameters = sentOffers[0]?.parameters ?? [];
		if (sentOffers.length !== 1 || parameters.length !== 1)
			return PARAM_COUNT('limited_time_offer needs one parameter with expiration_time_ms');
		const expiry = (parameters[0].limited_time_offer as Record<string, unknown> | undefined)?.expiration_time_ms;
		if (parameters[0].type !== 'limited_time_offer' || !Number.isInteger(expiry))
			return PARAM_FORMAT('limited_time_offer.expiration_time_ms must be an integer (Unix ms)');
		if ((expiry as number) <= Date.now()) return PARAM_FORMAT('limited_time_offer.expiration_time_ms is in the past');
	}

	const header = template.components.find((c) => c.type === 'HEADER');
	const sentHeaders = byType('header');
	if (sentHeaders.length > 1) return PARAM_COUNT('header given more than once');
	if (!header) {
		if (sentHeaders.length) return PARAM_COUNT('template has no header');
	} else if (header.format === 'TEXT' || header.format === undefined) {
		const problem = checkVariables(
			template,
			'header',
			templateVariables(header.text),
			sentHeaders[0]?.parameters ?? [],
			false,
		);
		if (problem) return problem;
	} else {
		const parameters = sentHeaders[0]?.parameters ?? [];
		if (parameters.length !== 1) return PARAM_COUNT(`header expects one ${header.format.toLowerCase()} parameter`);
		if (header.format === 'LOCATION') {
			const location = parameters[0].location as Record<string, unknown> | undefined;
			if (
				parameters[0].type !== 'location' ||
				!location ||
				typeof location.latitude !== 'number' ||
				typeof location.longitude !== 'number'
			) {
				return PARAM_FORMAT('header expects a location with latitude and longitude');
			}
		} else {
			const problem = checkMedia(header.format.toLowerCase(), parameters[0]);
			if (problem) return problem;
		}
	}

	const body = template.components.find((c) => c.type === 'BODY');
	const sentBodies = byType('body');
	if (sentBodies.length > 1) return PARAM_COUNT('body given more than once');
	const bodyProblem = checkVariables(
		template,
		'body',
		templateVariables(body?.text),
		sentBodies[0]?.parameters ?? [],
		false,
	);
	if (bodyProblem) return bodyProblem;

	// A carousel: a card for every card of the template, each checked like a message of its own
	// (Meta's "Sending Media Card Carousel Templates": card_index, the card's header, body and buttons).
	const carousel = template.components.find((c) => c.type === 'CAROUSEL');
	const sentCarousels = byType('carousel');
	if (!carousel && sentCarousels.length) return PARAM_COUNT('template has no carousel');
	if (carousel) {
		const cards = (sentCarousels[0] as { cards?: unknown } | undefined)?.cards;
		if (sentCarousels.length !== 1 || !Array.isArray(cards) || cards.length !== carousel.cards!.length)
			return PARAM_COUNT(`carousel needs exactly ${carousel.cards!.length} cards`);
		for (const [position, card] of (cards as Array<{ card_index?: unknown; components?: unknown }>).entries()) {
			if (card.card_index !== position) return PARAM_FORMAT(`card ${position}: card_index must be ${position}`);
			const problem = checkTemplateComponents(
				{ ...template, components: carousel.cards![position].components },
				card.components,
			);
			if (problem) return { ...problem, details: `card ${position}: ${problem.details}` };
		}
	}

	const buttons = template.components.find((c) => c.type === 'BUTTONS')?.buttons ?? [];
	const sentButtons = byType('button');
	const seen = new Set<number>();
	for (const button of sentButtons) {
		const index = Number(button.index);
		if (typeof button.index !== 'string' && typeof button.index !== 'number')
			return reject(131008, '(#131008) Required parameter is missing', 'button index is missing');
		if (!Number.isInteger(index) || index < 0 || index >= buttons.length)
			return PARAM_COUNT(`no button at index ${String(button.index)}`);
		if (seen.has(index)) return PARAM_COUNT(`button ${index} given more than once`);
		seen.add(index);
	}
	for (let index = 0; index < buttons.length; index++) {
		const problem = checkButton(
			buttons[index],
			index,
			sentButtons.find((b) => Number(b.index) === index),
		);
		if (problem) return problem;
	}
	return undefined;
}
