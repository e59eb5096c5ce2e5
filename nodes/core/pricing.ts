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

import { bsuidCountry } from './contactIdentity';

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
