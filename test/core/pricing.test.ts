/**
 * Meta's `pricing` object on status webhooks. Shapes: whatsapp-api-js's v25 payload examples (the
 * `regular` marketing status in test/fixtures/metaWebhooks.ts), pywa's `Pricing.from_dict` (type decides,
 * `billable` only in older payloads; david-lev/pywa, pywa/types/message_status.py) and the free service
 * message that Meta's pricing documentation describes (`free_customer_service`, category `service`).
 */
import {
	campaignCost,
	destinationCountry,
	parseRateCard,
	rateFor,
	readPricing,
	type RateCard,
} from '../../nodes/core/pricing';
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

describe('rate cards: the operator’s prices, never ours', () => {
	const csv = 'country,category,rate\nFR,marketing,0.0859\nFR,utility,0.03\n*,utility,0.02\n';

	test('CSV and JSON give the same card; * is any other country', () => {
		const fromCsv = parseRateCard(csv, 'eur');
		const fromJson = parseRateCard(
			JSON.stringify({ currency: 'EUR', rates: { FR: { marketing: 0.0859, utility: 0.03 }, '*': { utility: 0.02 } } }),
		);
		expect(fromCsv).toEqual(fromJson);
		const card = (fromCsv as { card: RateCard }).card;
		expect(rateFor(card, 'FR', 'utility')).toBe(0.03);
		expect(rateFor(card, 'BR', 'utility')).toBe(0.02);
		expect(rateFor(card, 'BR', 'marketing')).toBeUndefined();
	});

	test.each([
		['FR,marketing', 'Line 1: expected country,category,rate'],
		['France,marketing,0.08', 'Line 1: "France" is not a two-letter country code or *'],
		['FR,promo,0.08', 'Line 1: "promo" is not one of Meta'],
		['FR,marketing,cheap', 'Line 1: the rate "cheap" is not a number of at least 0'],
		['FR,marketing,-1', 'Line 1: the rate "-1" is not a number of at least 0'],
		['{"rates": [1]}', 'The rate card JSON needs "rates"'],
		['{"rates": ', 'The rate card is not valid JSON'],
	])('%p is refused: %s', (text, message) => {
		expect(parseRateCard(text, 'EUR')).toEqual({ error: expect.stringContaining(message) });
	});

	test('a card without a currency, or with one ISO 4217 does not know, is refused', () => {
		expect(parseRateCard('FR,marketing,0.08')).toEqual({ error: expect.stringContaining('ISO 4217') });
		expect(parseRateCard('FR,marketing,0.08', 'EUX')).toEqual({ error: expect.stringContaining('not "EUX"') });
		expect(parseRateCard('FR,marketing,0.08', 'brl')).toEqual({ card: expect.objectContaining({ currency: 'BRL' }) });
	});

	test('the cost of billed messages; what the card has no rate for stays unpriced, never guessed', () => {
		const card = (parseRateCard(csv, 'EUR') as { card: RateCard }).card;
		expect(
			campaignCost(
				{
					billedByCategory: { marketing: 12, utility: 5 },
					billedByCountry: { FR: { marketing: 10, utility: 2 }, BR: { marketing: 1, utility: 2 } },
				},
				card,
			),
		).toEqual({
			currency: 'EUR',
			// 10 × 0.0859 + 2 × 0.03 + 2 × 0.02 (BR by *) + 1 × 0.02 (a utility message with no known country, by *)
			total: 0.979,
			byCategory: { marketing: 0.859, utility: 0.12 },
			unpriced: [
				{ country: 'BR', category: 'marketing', messages: 1 },
				{ country: '?', category: 'marketing', messages: 1 },
			],
		});
	});
});
