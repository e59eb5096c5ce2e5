import { decideConsent, type ConsentDecision, type ConsentRules, type CrmConsent } from '../../nodes/core/consent';
import type { ConsentEvent, ContactState } from '../../nodes/core/types';

const NOW = Date.UTC(2026, 10, 22);
const DAY = 86_400_000;

const event = (
	action: 'opt_in' | 'opt_out',
	category: ConsentEvent['category'],
	at: number,
	extra: Partial<ConsentEvent> = {},
): ConsentEvent => ({
	id: at,
	contactKey: 'k',
	action,
	category,
	at,
	recordedAt: at,
	...extra,
});

const empty: ContactState = { consent: {}, suppressions: [] };
const ledgerOptIn = (at = NOW - 10 * DAY, extra: Partial<ConsentEvent> = {}): ContactState => ({
	consent: { marketing: event('opt_in', 'marketing', at, extra) },
	suppressions: [],
});
const rules = (extra: Partial<ConsentRules> = {}): ConsentRules => ({
	category: 'marketing',
	now: NOW,
	crmIsEnough: true,
	...extra,
});

const cases: Array<[string, CrmConsent | undefined, ContactState, Partial<ConsentRules>, ConsentDecision]> = [
	['no consent anywhere', undefined, empty, {}, { allowed: false, reason: 'NO_OPT_IN' }],
	[
		'CRM opt-in is enough by default',
		{ optedIn: true, optInAt: NOW - DAY },
		empty,
		{},
		{ allowed: true, basis: 'crm', optInAt: NOW - DAY },
	],
	[
		'CRM opt-in alone is not enough when the ledger is required',
		{ optedIn: true },
		empty,
		{ crmIsEnough: false },
		{ allowed: false, reason: 'NO_OPT_IN' },
	],
	['ledger opt-in', undefined, ledgerOptIn(), {}, { allowed: true, basis: 'ledger', optInAt: NOW - 10 * DAY }],
	[
		'both',
		{ optedIn: true, optInAt: NOW - DAY },
		ledgerOptIn(),
		{ crmIsEnough: false },
		{ allowed: true, basis: 'crm+ledger', optInAt: NOW - DAY },
	],
	[
		'blocks a contact who replied STOP even when the CRM says opted in',
		{ optedIn: true },
		{
			consent: { marketing: event('opt_out', 'all', NOW - DAY) },
			suppressions: [{ category: 'marketing', reason: 'OPTED_OUT', at: NOW - DAY }],
		},
		{},
		{ allowed: false, reason: 'OPTED_OUT', since: NOW - DAY },
	],
	[
		'a suppression alone blocks (imported list)',
		{ optedIn: true },
		{ consent: {}, suppressions: [{ category: 'all', reason: 'IMPORTED', at: NOW - 5 * DAY }] },
		{},
		{ allowed: false, reason: 'OPTED_OUT', since: NOW - 5 * DAY },
	],
	[
		'a marketing stop still allows utility',
		{ optedIn: true },
		{
			consent: { marketing: event('opt_out', 'marketing', NOW - DAY) },
			suppressions: [{ category: 'marketing', reason: 'USER_STOPPED_MARKETING', at: NOW - DAY }],
		},
		{ category: 'utility' },
		{ allowed: true, basis: 'crm', optInAt: undefined },
	],
	[
		'the CRM saying not opted in is honoured over an older ledger opt-in',
		{ optedIn: false },
		ledgerOptIn(),
		{},
		{ allowed: false, reason: 'NO_OPT_IN' },
	],
	[
		'CRM opt-in for utility only',
		{ optedIn: true, categories: ['utility'] },
		empty,
		{},
		{ allowed: false, reason: 'CATEGORY_NOT_COVERED' },
	],
	[
		'ledger opt-in for another category only',
		undefined,
		{ consent: { utility: event('opt_in', 'utility', NOW - DAY) }, suppressions: [] },
		{},
		{ allowed: false, reason: 'CATEGORY_NOT_COVERED' },
	],
	[
		'opt-in must name the business: it does',
		undefined,
		ledgerOptIn(NOW - DAY, { wording: 'Yes, Café Lumière may send me offers on WhatsApp' }),
		{ requireBusinessName: 'cafe lumiere' },
		{ allowed: true, basis: 'ledger', optInAt: NOW - DAY },
	],
	[
		'opt-in must name the business: it does not',
		undefined,
		ledgerOptIn(NOW - DAY, { wording: 'Yes, send me offers' }),
		{ requireBusinessName: 'Café Lumière' },
		{ allowed: false, reason: 'BUSINESS_NOT_NAMED' },
	],
	[
		'business named in the CRM field',
		{ optedIn: true, businessName: 'Acme Ltd' },
		empty,
		{ requireBusinessName: 'ACME' },
		{ allowed: true, basis: 'crm', optInAt: undefined },
	],
	[
		'consent older than 12 months',
		undefined,
		ledgerOptIn(NOW - 400 * DAY),
		{ maxConsentAgeMs: 365 * DAY },
		{ allowed: false, reason: 'CONSENT_EXPIRED', since: NOW - 400 * DAY },
	],
	[
		'consent exactly 12 months old still counts',
		undefined,
		ledgerOptIn(NOW - 365 * DAY),
		{ maxConsentAgeMs: 365 * DAY },
		{ allowed: true, basis: 'ledger', optInAt: NOW - 365 * DAY },
	],
	[
		'an undated CRM opt-in cannot prove its age',
		{ optedIn: true },
		empty,
		{ maxConsentAgeMs: 365 * DAY },
		{ allowed: false, reason: 'CONSENT_EXPIRED' },
	],
	[
		'the newest opt-in decides the age',
		{ optedIn: true, optInAt: NOW - 30 * DAY },
		ledgerOptIn(NOW - 400 * DAY),
		{ maxConsentAgeMs: 365 * DAY },
		{ allowed: true, basis: 'crm+ledger', optInAt: NOW - 30 * DAY },
	],
	[
		'inactive for 45 days with a 30-day cut-off',
		undefined,
		{ ...ledgerOptIn(NOW - 200 * DAY), lastInteractionAt: NOW - 45 * DAY },
		{ inactivityMs: 30 * DAY },
		{ allowed: false, reason: 'INACTIVE', since: NOW - 45 * DAY },
	],
	[
		'active within the cut-off',
		undefined,
		{ ...ledgerOptIn(NOW - 200 * DAY), lastInteractionAt: NOW - 3 * DAY },
		{ inactivityMs: 30 * DAY },
		{ allowed: true, basis: 'ledger', optInAt: NOW - 200 * DAY },
	],
	[
		'a recent opt-in counts as an interaction',
		undefined,
		ledgerOptIn(NOW - 2 * DAY),
		{ inactivityMs: 30 * DAY },
		{ allowed: true, basis: 'ledger', optInAt: NOW - 2 * DAY },
	],
	[
		'an authentication code to a customer inactive for 45 days still goes (inactivity concerns marketing)',
		{ optedIn: true, categories: ['authentication'], optInAt: NOW - 200 * DAY },
		{ consent: {}, suppressions: [], lastInteractionAt: NOW - 45 * DAY },
		{ category: 'authentication', inactivityMs: 30 * DAY },
		{ allowed: true, basis: 'crm', optInAt: NOW - 200 * DAY },
	],
	[
		'a utility message is blocked as INACTIVE when the operator includes utility',
		{ optedIn: true, optInAt: NOW - 200 * DAY },
		{ consent: {}, suppressions: [], lastInteractionAt: NOW - 45 * DAY },
		{ category: 'utility', inactivityMs: 30 * DAY, inactivityCategories: ['marketing', 'utility'] },
		{ allowed: false, reason: 'INACTIVE', since: NOW - 45 * DAY },
	],
	[
		'no known interaction at all',
		{ optedIn: true },
		empty,
		{ inactivityMs: 30 * DAY },
		{ allowed: false, reason: 'INACTIVE' },
	],
	[
		'recently failed as not on WhatsApp',
		{ optedIn: true },
		{ ...empty, undeliverableAt: NOW - 5 * DAY },
		{ undeliverableWithinMs: 90 * DAY },
		{ allowed: false, reason: 'NOT_ON_WHATSAPP', since: NOW - 5 * DAY },
	],
	[
		'failed long ago: may have installed WhatsApp since',
		{ optedIn: true },
		{ ...empty, undeliverableAt: NOW - 200 * DAY },
		{ undeliverableWithinMs: 90 * DAY },
		{ allowed: true, basis: 'crm', optInAt: undefined },
	],
	[
		'an opt-out beats a later CRM flag (suppression wins)',
		{ optedIn: true, optInAt: NOW },
		{ consent: {}, suppressions: [{ category: 'marketing', reason: 'OPTED_OUT', at: NOW - DAY }] },
		{},
		{ allowed: false, reason: 'OPTED_OUT', since: NOW - DAY },
	],
	[
		'a number whose owner moved to another number is blocked as NUMBER_CHANGED, whatever the CRM says',
		{ optedIn: true, optInAt: NOW - 30 * DAY },
		{
			consent: { marketing: event('opt_in', 'marketing', NOW - 30 * DAY) },
			suppressions: [{ category: 'all', reason: 'NUMBER_CHANGED', at: NOW - DAY }],
		},
		{},
		{ allowed: false, reason: 'NUMBER_CHANGED', since: NOW - DAY },
	],
	[
		'a forgotten contact without a new opt-in is blocked as FORGOTTEN, whatever the CRM says',
		{ optedIn: true, optInAt: NOW - 30 * DAY },
		{ consent: {}, suppressions: [{ category: 'marketing', reason: 'FORGOTTEN', at: NOW - DAY }] },
		{},
		{ allowed: false, reason: 'FORGOTTEN', since: NOW - DAY },
	],
];

describe('decideConsent', () => {
	test.each(cases)('%s', (_label, crm, state, extra, expected) => {
		expect(decideConsent(crm, state, rules(extra))).toEqual(expected);
	});
});
