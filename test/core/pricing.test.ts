/**
 * Meta's `pricing` object on status webhooks. Shapes: whatsapp-api-js's v25 payload examples (the
 * `regular` marketing status in test/fixtures/metaWebhooks.ts), pywa's `Pricing.from_dict` (type decides,
 * `billable` only in older payloads; david-lev/pywa, pywa/types/message_status.py) and the free service
 * message that Meta's pricing documentation describes (`free_customer_service`, category `service`).
 */
import { destinationCountry, readPricing } from '../../nodes/core/pricing';
import { STATUS_SENT_TO_PHONE_WITH_BSUID } from '../fixtures/metaWebhooks';

describe('readPricing', () => {
	test.each([
		[
			'a billed marketing message (whatsapp-api-js v25 fixture)',
			STATUS_SENT_TO_PHONE_WITH_BSUID.entry[0].changes[0].value.statuses[0].pricing,
			{ billable: true, category: 'marketing' },
		],
		[
			'a free service reply',
			{ billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' },
			{ billable: false, category: 'service', freeType: 'free_customer_service' },
		],
		[
			'a free entry-point message (type decides, whatever billable says)',
			{ billable: true, pricing_model: 'PMP', type: 'free_entry_point', category: 'referral_conversion' },
			{ billable: false, category: 'referral_conversion', freeType: 'free_entry_point' },
		],
		[
			'an authentication message to another country',
			{ pricing_model: 'PMP', type: 'regular', category: 'authentication_international' },
			{ billable: true, category: 'authentication_international' },
		],
		[
			'a payload from before `type` (conversation-based pricing)',
			{ billable: true, pricing_model: 'CBP', category: 'utility' },
			{ billable: true, category: 'utility' },
		],
		[
			'a category or type Meta may add later counts as other',
			{ pricing_model: 'PMP', type: 'free_trial', category: 'brand_new' },
			{ billable: false, category: 'other', freeType: 'other' },
		],
	])('%s', (_, pricing, expected) => {
		expect(readPricing(pricing as Record<string, unknown>)).toEqual(expected);
	});

	test.each([[undefined], [{}], [{ pricing_model: 'PMP', category: 'marketing' }]])(
		'nothing to count in %p',
		(pricing) => expect(readPricing(pricing as Record<string, unknown> | undefined)).toBeUndefined(),
	);
});

describe('destinationCountry', () => {
	test.each([
		['a French wa_id', '33612345678', undefined, 'FR'],
		['Mexico’s older 521 wa_id', '5215512345678', undefined, 'MX'],
		['a username user: the BSUID’s prefix', '', 'BR.1502576394655843', 'BR'],
		['a number wins over the BSUID', '16315551181', 'US.13491208655302741918', 'US'],
		['nothing usable', '999', undefined, undefined],
	])('%s', (_, waId, userId, expected) => expect(destinationCountry(waId, userId)).toBe(expected));
});
