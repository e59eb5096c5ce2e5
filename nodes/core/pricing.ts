/**
 * What Meta bills for a message. Since July 2025 (per-message pricing) every status webhook of a message
 * carries a `pricing` object: `pricing_model` (`PMP`), `type` (`regular`: billed; `free_customer_service`,
 * `free_entry_point`: free), `category` (the rate applied) and, deprecated, `billable`. Meta bills a
 * message once it is delivered, by its category and the recipient's country; the campaign report
 * counts each message once, at its first delivered (or read, or played) status. Closed sets (counter names are built from them) as pywa's
 * `PricingType` and `PricingCategory` list them (david-lev/pywa, pywa/types/message_status.py) and
 * whatsapp-api-js's `ServerPricing` types them; anything else counts as `other`.
 */
import parsePhoneNumber from 'libphonenumber-js/max';

import { bsuidCountry, isBsuid } from './contactIdentity';
import { isCurrencyCode } from './currency';

export const PRICING_CATEGORIES = [
	'marketing',
	'marketing_lite',
	'utility',
	'authentication',
	'authentication_international',
	'service',
	'referral_conversion',
] as const;
export type PricingCategory = (typeof PRICING_CATEGORIES)[number] | 'other';

export const FREE_PRICING_TYPES = ['free_customer_service', 'free_entry_point'] as const;
export type FreePricingType = (typeof FREE_PRICING_TYPES)[number] | 'other';

export type MessagePricing =
	| { billable: true; category: PricingCategory }
	| { billable: false; category: PricingCategory; freeType: FreePricingType };

/** Reads a status's `pricing` object; undefined when there is none or it says nothing usable. */
export function readPricing(pricing: Record<string, unknown> | undefined): MessagePricing | undefined {
	if (!pricing) return undefined;
	const category = (PRICING_CATEGORIES as readonly unknown[]).includes(pricing.category)
		? (pricing.category as PricingCategory)
		: 'other';
	const type = typeof pricing.type === 'string' ? pricing.type : undefined;
	// `type` decides (`billable` is deprecated); payloads from before `type` have only `billable`.
	const billable = type !== undefined ? type === 'regular' : pricing.billable === true;
	if (billable) return { billable: true, category };
	if (type === undefined && pricing.billable === undefined) return undefined;
	const freeType = (FREE_PRICING_TYPES as readonly unknown[]).includes(type) ? (type as FreePricingType) : 'other';
	return { billable: false, category, freeType };
}

/** The recipient's country (ISO 3166 alpha-2), from their number, else their BSUID's prefix. */
export function destinationCountry(waId: string | undefined, userId: string | undefined): string | undefined {
	if (waId) {
		const country = parsePhoneNumber(`+${waId.replace(/\D/g, '')}`)?.country;
		if (country) return country;
	}
	return userId ? bsuidCountry(userId) : undefined;
}

/**
 * The operator's prices per delivered message, in their currency: rates by destination country and
 * pricing category, `*` for any country not listed. We invent no rates: a category or country without
 * one stays unpriced (reported as such), never guessed.
 */
export interface RateCard {
	currency: string;
	rates: Record<string, Partial<Record<PricingCategory, number>>>;
}

export type RateCardResult = { card: RateCard } | { error: string };

/**
 * Reads a rate card given as JSON (`{ "currency": "EUR", "rates": { "FR": { "marketing": 0.0859 },
 * "*": { "utility": 0.02 } } }`) or CSV (`country,category,rate` per line, a header line allowed;
 * `currency` comes from the node then). An error names the line or entry to fix.
 */
export function parseRateCard(text: string, currency?: string): RateCardResult {
	const trimmed = text.trim();
	if (!trimmed) return { error: 'The rate card is empty' };
	const card: RateCard = { currency: (currency ?? '').trim().toUpperCase(), rates: {} };
	const add = (country: string, category: string, rate: unknown, where: string): string | undefined => {
		const place = country.trim().toUpperCase();
		if (place !== '*' && !/^[A-Z]{2}$/.test(place))
			return `${where}: "${country}" is not a two-letter country code or *`;
		if (!(PRICING_CATEGORIES as readonly string[]).includes(category.trim()))
			return `${where}: "${category}" is not one of Meta's pricing categories (${PRICING_CATEGORIES.join(', ')})`;
		const value = typeof rate === 'string' ? Number(rate.trim()) : rate;
		if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
			return `${where}: the rate "${String(rate)}" is not a number of at least 0`;
		(card.rates[place] ??= {})[category.trim() as PricingCategory] = value;
		return undefined;
	};
	if (trimmed.startsWith('{')) {
		let json: unknown;
		try {
			json = JSON.parse(trimmed);
		} catch (error) {
			return { error: `The rate card is not valid JSON: ${(error as Error).message}` };
		}
		const { currency: jsonCurrency, rates } = (json ?? {}) as { currency?: unknown; rates?: unknown };
		if (typeof jsonCurrency === 'string' && jsonCurrency.trim()) card.currency = jsonCurrency.trim().toUpperCase();
		if (typeof rates !== 'object' || rates === null || Array.isArray(rates))
			return { error: 'The rate card JSON needs "rates": { "<country>": { "<category>": <rate> } }' };
		for (const [country, byCategory] of Object.entries(rates)) {
			if (typeof byCategory !== 'object' || byCategory === null)
				return { error: `rates.${country} is not an object of category rates` };
			for (const [category, rate] of Object.entries(byCategory)) {
				const error = add(country, category, rate, `rates.${country}.${category}`);
				if (error) return { error };
			}
		}
	} else {
		const lines = trimmed.split(/\r?\n/);
		for (const [index, line] of lines.entries()) {
			if (!line.trim()) continue;
			const cells = line.split(/[,;\t]/).map((cell) => cell.trim());
			if (index === 0 && /^country$/i.test(cells[0])) continue;
			if (cells.length !== 3) return { error: `Line ${index + 1}: expected country,category,rate` };
			const error = add(cells[0], cells[1], cells[2], `Line ${index + 1}`);
			if (error) return { error };
		}
	}
	if (!isCurrencyCode(card.currency))
		return { error: `Give the rate card’s currency as an ISO 4217 code (e.g. EUR), not "${card.currency}"` };
	return { card };
}

/**
 * Amounts the stores add (spend budgets) are integer millionths of the card's currency: sums stay exact
 * in SQLite and in Redis, where INCRBY takes integers only.
 */
export const COST_UNITS = 1_000_000;
export const toCostUnits = (amount: number): number => Math.round(amount * COST_UNITS);
export const fromCostUnits = (units: number): number => units / COST_UNITS;

/** One message's estimated cost under the card (as if delivered), or why it has none. */
export type MessageCost =
	| { amount: number; currency: string; country: string | null; category: PricingCategory }
	| { unpriced: true; country: string | null; category: PricingCategory };

/**
 * What the card says one message costs: the recipient's country (from the number, else the BSUID's
 * prefix) and the template's category (Meta's pricing category of the same name).
 */
export function messageCost(card: RateCard, recipient: string, templateCategory: string): MessageCost {
	const category = templateCategory.toLowerCase() as PricingCategory;
	const country =
		(isBsuid(recipient) ? destinationCountry(undefined, recipient) : destinationCountry(recipient, undefined)) ?? null;
	const amount = rateFor(card, country ?? undefined, category);
	return amount === undefined
		? { unpriced: true, country, category }
		: { amount, currency: card.currency, country, category };
}

/** The operator's rate for one delivered message, or undefined when the card has none. */
export function rateFor(card: RateCard, country: string | undefined, category: PricingCategory): number | undefined {
	return (country ? card.rates[country]?.[category] : undefined) ?? card.rates['*']?.[category];
}

export interface CampaignCost {
	currency: string;
	/** Rounded to 4 decimals (Meta's rate cards have 4). */
	total: number;
	byCategory: Record<string, number>;
	/** Billed messages the card has no rate for: counted, never priced by a guess. */
	unpriced: Array<{ country: string; category: string; messages: number }>;
}

/**
 * What the billed messages cost under the card. Messages billed with no known destination country
 * (`billedByCategory` beyond the per-country counts) take the card's `*` rate, else stay unpriced.
 */
export function campaignCost(
	billed: { billedByCategory: Record<string, number>; billedByCountry: Record<string, Record<string, number>> },
	card: RateCard,
): CampaignCost {
	const byCountry: Record<string, Record<string, number>> = structuredClone(billed.billedByCountry);
	for (const [category, messages] of Object.entries(billed.billedByCategory)) {
		const placed = Object.values(billed.billedByCountry).reduce((sum, c) => sum + (c[category] ?? 0), 0);
		if (messages > placed) (byCountry['?'] ??= {})[category] = messages - placed;
	}
	const round = (n: number) => Math.round(n * 10_000) / 10_000;
	const byCategory: Record<string, number> = {};
	const unpriced: CampaignCost['unpriced'] = [];
	let total = 0;
	for (const [country, categories] of Object.entries(byCountry))
		for (const [category, messages] of Object.entries(categories)) {
			const rate = rateFor(card, country === '?' ? undefined : country, category as PricingCategory);
			if (rate === undefined) {
				unpriced.push({ country, category, messages });
				continue;
			}
			total += rate * messages;
			byCategory[category] = round((byCategory[category] ?? 0) + rate * messages);
		}
	return { currency: card.currency, total: round(total), byCategory, unpriced };
}
