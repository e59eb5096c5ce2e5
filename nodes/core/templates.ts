/**
 * Message templates as Meta defines them, the variables an operator fills, and the components of a
 * send request built from them. Validation mirrors Meta's rules so that a bad item fails here, with a
 * reason, instead of costing an API call (and a quality signal) per item.
 */
import { isCurrencyCode } from './currency';
import { namesOptOutKeyword } from './keywords';

export interface TemplateDefinition {
	name: string;
	language: string;
	status: string;
	category: string;
	parameter_format?: string;
	components?: Array<Record<string, unknown>>;
}

export type SlotKind =
	| 'text'
	| 'image'
	| 'video'
	| 'document'
	| 'location'
	| 'url_suffix'
	| 'payload'
	| 'coupon_code'
	| 'offer_expiration'
	| 'flow_token'
	| 'flow_action_data'
	| 'catalog_thumbnail';

/** One value the operator maps: `body.1`, `body.first_name`, `header.1`, `header.media`, `button.1.url`… */
export interface TemplateSlot {
	id: string;
	label: string;
	kind: SlotKind;
	required: boolean;
	/** Where it goes: component and, for buttons, index and sub_type. */
	component: 'header' | 'body' | 'button' | 'limited_time_offer';
	buttonIndex?: number;
	buttonSubType?: string;
	/** The named parameter, for templates with parameter_format NAMED. */
	parameterName?: string;
	/** The carousel card it belongs to (0-based), for a carousel template's cards. */
	card?: number;
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

function variables(text: unknown): string[] {
	const names: string[] = [];
	for (const match of String(text ?? '').matchAll(VARIABLE)) if (!names.includes(match[1])) names.push(match[1]);
	return names;
}

const upper = (v: unknown) => String(v ?? '').toUpperCase();

/** The values a template needs, in panel order: header, body, offer, buttons, then each carousel card's. */
export function templateSlots(template: TemplateDefinition): TemplateSlot[] {
	const named = upper(template.parameter_format) === 'NAMED';
	const slots = componentSlots(template.components ?? [], named);
	for (const component of template.components ?? []) {
		if (upper(component.type) !== 'CAROUSEL') continue;
		((component.cards ?? []) as Array<{ components?: Array<Record<string, unknown>> }>).forEach((card, index) => {
			for (const slot of componentSlots(card.components ?? [], named))
				slots.push({ ...slot, id: `card.${index}.${slot.id}`, label: `Card ${index + 1} ${slot.label}`, card: index });
		});
	}
	return slots;
}

/** The slots of one list of components (the message's, or one carousel card's). */
function componentSlots(components: Array<Record<string, unknown>>, named: boolean): TemplateSlot[] {
	const slots: TemplateSlot[] = [];
	for (const component of components) {
		const type = upper(component.type);
		if (type === 'HEADER') {
			const format = upper(component.format || 'TEXT');
			if (format === 'TEXT') {
				for (const name of variables(component.text)) {
					slots.push({
						id: `header.${name}`,
						label: `Header {{${name}}}`,
						kind: 'text',
						required: true,
						component: 'header',
						parameterName: named ? name : undefined,
					});
				}
			} else if (['IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION'].includes(format)) {
				const kind = format.toLowerCase() as SlotKind;
				slots.push({
					id: 'header.media',
					label:
						kind === 'location'
							? 'Header Location (lat,long)'
							: `Header ${format[0]}${format.slice(1).toLowerCase()} URL or Media ID`,
					kind,
					required: true,
					component: 'header',
				});
			}
		} else if (type === 'BODY') {
			for (const name of variables(component.text)) {
				slots.push({
					id: `body.${name}`,
					label: `Body {{${name}}}`,
					kind: 'text',
					required: true,
					component: 'body',
					parameterName: named ? name : undefined,
				});
			}
		} else if (type === 'LIMITED_TIME_OFFER') {
			// The offer's expiry is given at send time when the template shows it (`has_expiration`).
			const offer = (component.limited_time_offer ?? {}) as Record<string, unknown>;
			if (offer.has_expiration === true)
				slots.push({
					id: 'offer.expiration',
					label: 'Offer Expires At (ISO Date or Unix ms)',
					kind: 'offer_expiration',
					required: true,
					component: 'limited_time_offer',
				});
		} else if (type === 'BUTTONS') {
			((component.buttons ?? []) as Array<Record<string, unknown>>).forEach((button, index) => {
				const buttonType = upper(button.type);
				if (buttonType === 'URL' && variables(button.url).length) {
					slots.push({
						id: `button.${index}.url`,
						label: `Button ${index + 1} “${String(button.text)}” URL Suffix`,
						kind: 'url_suffix',
						required: true,
						component: 'button',
						buttonIndex: index,
						buttonSubType: 'url',
					});
				} else if (buttonType === 'QUICK_REPLY') {
					slots.push({
						id: `button.${index}.payload`,
						label: `Button ${index + 1} “${String(button.text)}” Payload`,
						kind: 'payload',
						required: false,
						component: 'button',
						buttonIndex: index,
						buttonSubType: 'quick_reply',
					});
				} else if (buttonType === 'FLOW') {
					// Meta's Flow button (template components reference, "Flows buttons"): the send may give the
					// Flow a token and the first screen's data; both are optional (the token defaults to
					// "unused"), the button component always goes out (buildComponents).
					const base = { component: 'button' as const, buttonIndex: index, buttonSubType: 'flow', required: false };
					slots.push({
						...base,
						id: `button.${index}.flow_token`,
						label: `Button ${index + 1} “${String(button.text)}” Flow Token`,
						kind: 'flow_token',
					});
					slots.push({
						...base,
						id: `button.${index}.flow_data`,
						label: `Button ${index + 1} “${String(button.text)}” Flow Data (JSON Object)`,
						kind: 'flow_action_data',
					});
				} else if (buttonType === 'CATALOG') {
					// Meta's catalog template: the product whose image heads the message, optional (else the
					// catalog's first item).
					slots.push({
						id: `button.${index}.thumbnail`,
						label: `Button ${index + 1} “${String(button.text)}” Thumbnail Product Retailer ID`,
						kind: 'catalog_thumbnail',
						required: false,
						component: 'button',
						buttonIndex: index,
						buttonSubType: 'CATALOG',
					});
				} else if (buttonType === 'COPY_CODE') {
					slots.push({
						id: `button.${index}.code`,
						label: `Button ${index + 1} Coupon Code`,
						kind: 'coupon_code',
						required: true,
						component: 'button',
						buttonIndex: index,
						buttonSubType: 'copy_code',
					});
				}
			});
		}
	}
	return slots;
}

/**
 * The optional fields beside each body variable that send it typed, as Meta's `currency` or `date_time`
 * parameter (WhatsApp's Node.js SDK reference, "Currency Object"), the variable's own text being the
 * `fallback_value`. Meta's template GET does not say which variable is a price or a date, so the panel
 * offers them for every body variable, hidden until the operator adds them.
 */
export interface TypedField {
	id: string;
	label: string;
	/** The slot it types. */
	of: string;
	kind: 'currency_code' | 'amount_1000' | 'date_time';
}

export function typedFields(template: TemplateDefinition): TypedField[] {
	return templateSlots(template)
		.filter((slot) => slot.kind === 'text' && slot.component === 'body')
		.flatMap((slot) => [
			{
				id: `${slot.id}.currency_code`,
				label: `${slot.label} as Currency: Code (ISO 4217)`,
				of: slot.id,
				kind: 'currency_code' as const,
			},
			{
				id: `${slot.id}.amount_1000`,
				label: `${slot.label} as Currency: Amount × 1000`,
				of: slot.id,
				kind: 'amount_1000' as const,
			},
			{ id: `${slot.id}.date_time`, label: `${slot.label} as Date/Time`, of: slot.id, kind: 'date_time' as const },
		]);
}

/** The typed form the fields beside a variable ask for (typedFields), undefined when they ask for none. */
function typedByFields(id: string, fallback: string, values: Record<string, unknown>) {
	const code = values[`${id}.currency_code`];
	const amount = values[`${id}.amount_1000`];
	if (!isEmpty(code) || !isEmpty(amount))
		return {
			fallback_value: fallback,
			code: typeof code === 'string' ? code.trim() : code,
			amount_1000: typeof amount === 'string' && /^\s*\d+\s*$/.test(amount) ? Number(amount) : amount,
		};
	const dateTime = values[`${id}.date_time`];
	if (dateTime === true || dateTime === 'true') return { fallback_value: fallback };
	return undefined;
}

export interface BuiltComponents {
	components: Array<Record<string, unknown>>;
}

/** Meta's limits on what a variable may hold. */
const LIMITS = { headerText: 60, bodyParameter: 1024, urlSuffix: 2000, payload: 256, couponCode: 15 };

function isEmpty(value: unknown) {
	return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function mediaUrl(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	try {
		const url = new URL(value.trim());
		return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
	} catch {
		return undefined;
	}
}

/** Percent-encodes what a URL cannot carry as is; reserved characters and existing `%XX` escapes stay. */
function encodeUrlSuffix(suffix: string): string {
	return suffix.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu, (c) => encodeURIComponent(c));
}

/**
 * What mapped mode does not build, by what Meta's template GET shows: catalog products chosen at send
 * time (a product card carousel's cards, a single-product header, a multi-product button's sections).
 */
function unmappedKind(template: TemplateDefinition): string | undefined {
	const productCards = carouselCards(template).some((card) =>
		((card.components ?? []) as Array<Record<string, unknown>>).some(
			(c) => upper(c.type) === 'HEADER' && upper(c.format) === 'PRODUCT',
		),
	);
	if (productCards) return 'product card carousel';
	const components = template.components ?? [];
	if (components.some((c) => upper(c.type) === 'HEADER' && upper(c.format) === 'PRODUCT'))
		return 'single-product header';
	const buttons = components.flatMap((c) =>
		upper(c.type) === 'BUTTONS' ? ((c.buttons ?? []) as Array<Record<string, unknown>>) : [],
	);
	// A multi-product button needs the catalog's product sections at send time.
	if (buttons.some((b) => upper(b.type) === 'MPM')) return 'multi-product button';
	return undefined;
}

/** An offer's expiry as Unix ms: a number of ms (or s, if it is one) or an ISO date; undefined if neither. */
function expiryMs(value: unknown): number | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
	if (typeof value !== 'string' || !value.trim()) return undefined;
	const text = value.trim();
	if (/^\d+$/.test(text)) return expiryMs(Number(text));
	const parsed = Date.parse(text);
	return Number.isNaN(parsed) ? undefined : parsed;
}

/**
 * A typed body or header parameter given as an object, in the shapes of Meta's template parameters
 * (WhatsApp's Node.js SDK reference, "Component Object" and "Currency Object"): a currency
 * `{ fallback_value, code, amount_1000 }` or a date_time `{ fallback_value }`. Anything else is refused
 * (sending its JSON as text would show the customer raw JSON). Returns the parameter or what is wrong.
 */
function typedParameter(value: Record<string, unknown>): Record<string, unknown> | string {
	const fallback = value.fallback_value;
	if (Array.isArray(value) || typeof fallback !== 'string' || !fallback.trim())
		return 'is an object: map a text, a currency { fallback_value, code, amount_1000 } or a date_time { fallback_value }';
	if ('code' in value || 'amount_1000' in value) {
		if (!isCurrencyCode(value.code))
			return `has currency code "${String(value.code)}": use an ISO 4217 code in capitals (e.g. EUR, USD, BRL)`;
		if (!Number.isInteger(value.amount_1000) || (value.amount_1000 as number) <= 0)
			return 'has an amount_1000 that is not a whole number above 0 (the amount × 1000, e.g. 12.99 → 12990)';
		return {
			type: 'currency',
			currency: { fallback_value: fallback, code: value.code, amount_1000: value.amount_1000 },
		};
	}
	return { type: 'date_time', date_time: { fallback_value: fallback } };
}

/**
 * The `components` of a template send for one item, or the problems that make it unsendable. Values
 * are keyed by slot id; optional slots left empty are omitted.
 */
export function buildComponents(
	template: TemplateDefinition,
	values: Record<string, unknown>,
	now = Date.now(),
): BuiltComponents | { problems: string[] } {
	const problems: string[] = [];
	const offer: Array<Record<string, unknown>> = [];
	// The message's own parameters, and each carousel card's (by card index).
	type Parts = {
		header: Array<Record<string, unknown>>;
		body: Array<Record<string, unknown>>;
		buttons: Array<Record<string, unknown>>;
	};
	const parts = (): Parts => ({ header: [], body: [], buttons: [] });
	const message = parts();
	const cards: Parts[] = carouselCards(template).map(parts);
	// What the operator gave a Flow or catalog button, by button index (message-level buttons).
	const actions = new Map<number, Record<string, unknown>>();
	const actionOf = (index: number) => actions.get(index) ?? actions.set(index, {}).get(index)!;

	// Components whose parameters the mapped variables cannot express yet: refused, never sent half-built.
	const kind = unmappedKind(template);
	if (kind)
		problems.push(
			`Template ${template.name} (${template.language}) has a ${kind}, which mapped variables cannot fill yet: give the components as JSON instead`,
		);
	for (const slot of templateSlots(template)) {
		const { header, body, buttons } = slot.card === undefined ? message : cards[slot.card];
		const value = values[slot.id];
		if (isEmpty(value)) {
			if (slot.required) problems.push(`${slot.label} is empty`);
			continue;
		}
		const text =
			typeof value === 'string'
				? value
				: typeof value === 'number' || typeof value === 'boolean'
					? String(value)
					: JSON.stringify(value);
		const named = slot.parameterName ? { parameter_name: slot.parameterName } : {};
		switch (slot.kind) {
			case 'text': {
				const typedValue =
					typeof value === 'object' ? (value as Record<string, unknown>) : typedByFields(slot.id, text, values);
				if (typedValue) {
					const typed = typedParameter(typedValue);
					if (typeof typed === 'string') problems.push(`${slot.label} ${typed}`);
					else (slot.component === 'header' ? header : body).push({ ...typed, ...named });
					break;
				}
				// Meta refuses newlines, tabs and runs of more than 4 spaces in variables (132018).
				if (/[\n\t]/.test(text) || / {5,}/.test(text)) {
					problems.push(`${slot.label} contains a newline, a tab or more than 4 consecutive spaces`);
					break;
				}
				const limit = slot.component === 'header' ? LIMITS.headerText : LIMITS.bodyParameter;
				if (text.length > limit) {
					problems.push(`${slot.label} is longer than ${limit} characters`);
					break;
				}
				(slot.component === 'header' ? header : body).push({ type: 'text', ...named, text });
				break;
			}
			case 'image':
			case 'video':
			case 'document': {
				// An uploaded media's ID (digits), as Meta's media endpoint returns it, or a link.
				const id = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
				const link = mediaUrl(value);
				if (/^\d{6,30}$/.test(id)) header.push({ type: slot.kind, [slot.kind]: { id } });
				else if (!link) problems.push(`${slot.label} is neither an http(s) URL nor a media ID`);
				else header.push({ type: slot.kind, [slot.kind]: { link } });
				break;
			}
			case 'location': {
				// "lat,long", or an object with Meta's location fields: the place's name and address are
				// given at send time too (Meta's location templates), and shown under the map.
				const place = typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
				const [latitude, longitude] = place
					? [Number(place.latitude), Number(place.longitude)]
					: text.split(',').map((part) => Number(part.trim()));
				const label = (field: 'name' | 'address') =>
					typeof place?.[field] === 'string' && (place[field] as string).trim()
						? { [field]: (place[field] as string).trim() }
						: {};
				if (
					!Number.isFinite(latitude) ||
					!Number.isFinite(longitude) ||
					Math.abs(latitude) > 90 ||
					Math.abs(longitude) > 180
				) {
					problems.push(`${slot.label} is not "latitude,longitude" or { latitude, longitude, name, address }`);
				} else
					header.push({
						type: 'location',
						location: { latitude, longitude, ...label('name'), ...label('address') },
					});
				break;
			}
			case 'url_suffix': {
				// Meta appends the suffix to the button's URL as given ("the URL generated by appending the text
				// parameter to the predefined prefix URL", WhatsApp's Node.js SDK reference): a path or query
				// (`A17/details?x=1`) keeps its structure; only what no URL may hold (spaces, non-ASCII, a `%`
				// that starts no escape) is percent-encoded, and existing escapes are left alone.
				const encoded = encodeUrlSuffix(text.trim());
				if (encoded.length > LIMITS.urlSuffix) problems.push(`${slot.label} is too long`);
				else
					buttons.push({
						type: 'button',
						sub_type: 'url',
						index: String(slot.buttonIndex),
						parameters: [{ type: 'text', text: encoded }],
					});
				break;
			}
			case 'payload':
				if (text.length > LIMITS.payload) problems.push(`${slot.label} is longer than ${LIMITS.payload} characters`);
				else
					buttons.push({
						type: 'button',
						sub_type: 'quick_reply',
						index: String(slot.buttonIndex),
						parameters: [{ type: 'payload', payload: text }],
					});
				break;
			case 'offer_expiration': {
				// Meta's limited-time offer: `expiration_time_ms`, when the offer code expires; it must lie ahead.
				const at = expiryMs(value);
				if (at === undefined) problems.push(`${slot.label} is neither an ISO date nor a Unix time in ms`);
				else if (at <= now) problems.push(`${slot.label} (${new Date(at).toISOString()}) is not in the future`);
				else offer.push({ type: 'limited_time_offer', limited_time_offer: { expiration_time_ms: at } });
				break;
			}
			case 'flow_token':
			case 'flow_action_data': {
				if (slot.card !== undefined) {
					problems.push(`${slot.label}: a Flow button on a carousel card is not supported in mapped mode`);
					break;
				}
				const action = actionOf(slot.buttonIndex!);
				if (slot.kind === 'flow_token') action.flow_token = text.trim();
				else {
					const data = jsonObject(value);
					if (data) action.flow_action_data = data;
					else problems.push(`${slot.label} is not a JSON object`);
				}
				break;
			}
			case 'catalog_thumbnail':
				if (slot.card !== undefined)
					problems.push(`${slot.label}: a catalog button on a carousel card is not supported in mapped mode`);
				else actionOf(slot.buttonIndex!).thumbnail_product_retailer_id = text.trim();
				break;
			case 'coupon_code':
				if (text.length > LIMITS.couponCode)
					problems.push(`${slot.label} is longer than ${LIMITS.couponCode} characters`);
				else
					buttons.push({
						type: 'button',
						sub_type: 'copy_code',
						index: String(slot.buttonIndex),
						parameters: [{ type: 'coupon_code', coupon_code: text }],
					});
				break;
		}
	}
	if (problems.length) return { problems };
	// The message's Flow and catalog buttons go out whether or not their optional values were given.
	for (const [index, button] of messageButtons(template).entries()) {
		const type = upper(button.type);
		const action = actions.get(index);
		if (type === 'FLOW')
			// Meta's "Send a message template with a Flow": one `action` parameter; the token defaults to "unused".
			message.buttons.push({
				type: 'button',
				sub_type: 'flow',
				index: String(index),
				parameters: [{ type: 'action', action: { flow_token: 'unused', ...action } }],
			});
		else if (type === 'CATALOG')
			// Meta's catalog template send: the thumbnail product as an `action` parameter; without one, no
			// parameter (the catalog's first item heads the message), as pywa sends it.
			message.buttons.push({
				type: 'button',
				sub_type: 'CATALOG',
				index: String(index),
				...(action ? { parameters: [{ type: 'action', action }] } : {}),
			});
	}
	message.buttons.sort((a, b) => Number(a.index) - Number(b.index));
	const components = partComponents(message);
	// Meta's carousel send: after the message body, every card of the template, each with its index
	// ("Sending Media Card Carousel Templates": a card for every card defined on the template).
	// The offer goes after the header and body, before the buttons (Meta's limited-time offer example).
	if (offer.length)
		components.splice(components.filter((c) => c.type !== 'button').length, 0, {
			type: 'limited_time_offer',
			parameters: offer,
		});
	if (cards.length)
		components.push({
			type: 'carousel',
			cards: cards.map((card, index) => ({ card_index: index, components: partComponents(card) })),
		});
	return { components };
}

/** A message's or card's parameters as Meta's send components: header, body, then its buttons. */
function partComponents(part: {
	header: Array<Record<string, unknown>>;
	body: Array<Record<string, unknown>>;
	buttons: Array<Record<string, unknown>>;
}): Array<Record<string, unknown>> {
	const components: Array<Record<string, unknown>> = [];
	if (part.header.length) components.push({ type: 'header', parameters: part.header });
	if (part.body.length) components.push({ type: 'body', parameters: part.body });
	components.push(...part.buttons);
	return components;
}

/** The buttons of the message's BUTTONS component (a carousel card's are its own). */
function messageButtons(template: TemplateDefinition): Array<Record<string, unknown>> {
	const component = (template.components ?? []).find((c) => upper(c.type) === 'BUTTONS');
	return (component?.buttons ?? []) as Array<Record<string, unknown>>;
}

/** A JSON object given as an object or as its text; undefined for anything else. */
function jsonObject(value: unknown): Record<string, unknown> | undefined {
	let parsed = value;
	if (typeof value === 'string')
		try {
			parsed = JSON.parse(value);
		} catch {
			return undefined;
		}
	return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
		? (parsed as Record<string, unknown>)
		: undefined;
}

/** A carousel template's cards (empty for any other template). */
function carouselCards(template: TemplateDefinition): Array<Record<string, unknown>> {
	const carousel = (template.components ?? []).find((c) => upper(c.type) === 'CAROUSEL');
	return (carousel?.cards ?? []) as Array<Record<string, unknown>>;
}

/**
 * A marketing template must offer a way out: a quick-reply button whose text or payload is an opt-out
 * keyword, or a footer/body that names one ("Reply STOP to unsubscribe"). Returns a warning, or
 * undefined when the template is fine or not marketing.
 */
export function optOutPathWarning(template: TemplateDefinition, quickReplyPayloads: string[] = []): string | undefined {
	if (upper(template.category) !== 'MARKETING') return undefined;
	for (const component of template.components ?? []) {
		const type = upper(component.type);
		if ((type === 'FOOTER' || type === 'BODY') && namesOptOutKeyword(String(component.text ?? ''))) return undefined;
		if (type === 'BUTTONS') {
			for (const button of (component.buttons ?? []) as Array<Record<string, unknown>>) {
				if (upper(button.type) === 'QUICK_REPLY' && namesOptOutKeyword(String(button.text ?? ''))) return undefined;
			}
		}
	}
	if (quickReplyPayloads.some((payload) => namesOptOutKeyword(payload.replace(/_/g, ' ')))) return undefined;
	return `Marketing template ${template.name} (${template.language}) offers no way to opt out: add a quick-reply button such as “Stop promotions” or a footer such as “Reply STOP to unsubscribe”`;
}
