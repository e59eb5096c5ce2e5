/**
 * Whether a contact may receive a message of a category, from the consent their CRM record holds and
 * what the store's ledger knows. WhatsApp's Business Messaging Policy: an opt-in names the business
 * and says the person agrees to its WhatsApp messages; every request to stop, on or off WhatsApp,
 * must be honoured. So the suppression list always wins, then an opt-in must exist and cover the
 * category, then the operator's proof rules apply (business named, consent age, inactivity).
 */
import { FORGOTTEN_SUPPRESSION, NUMBER_CHANGED_SUPPRESSION, type ContactState, type MessageCategory } from './types';

export type ConsentBlockReason =
	| 'NO_OPT_IN'
	| 'OPTED_OUT'
	| 'NUMBER_CHANGED'
	| 'FORGOTTEN'
	| 'CONSENT_EXPIRED'
	| 'CATEGORY_NOT_COVERED'
	| 'BUSINESS_NOT_NAMED'
	| 'INACTIVE'
	| 'NOT_ON_WHATSAPP'
	| 'INVALID_NUMBER';

/** Consent as the CRM record holds it (each field optional: only what the operator mapped). */
export interface CrmConsent {
	/** The CRM's opt-in flag. `false` is honoured as "no consent here", whatever the ledger says. */
	optedIn?: boolean;
	optInAt?: number;
	/** Categories the opt-in covers; absent = all. */
	categories?: MessageCategory[];
	/** Text of the opt-in (checked for the business name). */
	wording?: string;
	/** The business the opt-in named, if the CRM stores it separately. */
	businessName?: string;
}

export interface ConsentRules {
	category: MessageCategory;
	now: number;
	/** CRM consent alone is enough (otherwise the ledger must also hold an opt-in). */
	crmIsEnough: boolean;
	/** The opt-in must name this business. */
	requireBusinessName?: string;
	/** Opt-ins older than this no longer count. */
	maxConsentAgeMs?: number;
	/** No interaction (or opt-in) for this long blocks sends of the inactivity categories. */
	inactivityMs?: number;
	/**
	 * The categories the inactivity cut-off applies to: marketing unless the operator adds others (Meta's
	 * advice on inactive contacts concerns marketing; an OTP to a quiet customer must still go).
	 */
	inactivityCategories?: readonly MessageCategory[];
	/** A 131026 failure this recent marks the number as not on WhatsApp. */
	undeliverableWithinMs?: number;
}

export type ConsentDecision =
	| { allowed: true; basis: 'crm' | 'ledger' | 'crm+ledger'; optInAt?: number }
	| { allowed: false; reason: ConsentBlockReason; since?: number };

interface OptInEvidence {
	from: 'crm' | 'ledger';
	at?: number;
	texts: string[];
}

const normalise = (text: string) =>
	text
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/\s+/g, ' ')
		.trim();

function namesBusiness(evidence: OptInEvidence, business: string): boolean {
	const wanted = normalise(business);
	return evidence.texts.some((text) => normalise(text).includes(wanted));
}

/**
 * When the contact stopped messages of this category (a suppression, or an opt-out as the latest
 * ledger event for it), or undefined when they have not. The suppression list always wins.
 */
export function optedOutSince(state: ContactState, category: MessageCategory): number | undefined {
	const suppression = state.suppressions.find((s) => s.category === category || s.category === 'all');
	if (suppression) return suppression.at;
	const latest = state.consent[category];
	return latest?.action === 'opt_out' ? latest.at : undefined;
}

/** The categories the inactivity cut-off applies to unless the operator chooses others. */
export const INACTIVITY_CATEGORIES: readonly MessageCategory[] = ['marketing'];

/**
 * How many days a 131026 failure (not on WhatsApp) keeps a number out, unless the operator sets
 * another window (Number Validation and Consent Gate both default to this).
 */
export const UNDELIVERABLE_WINDOW_DAYS = 90;

/** A 131026 failure (not on WhatsApp) within `withinMs`: people do install WhatsApp later. */
export function isRecentlyUndeliverable(state: ContactState | undefined, withinMs: number, now: number): boolean {
	return state?.undeliverableAt !== undefined && state.undeliverableAt >= now - withinMs;
}

export function decideConsent(crm: CrmConsent | undefined, state: ContactState, rules: ConsentRules): ConsentDecision {
	const { category, now } = rules;

	// Suppressions that say more than "opted out" keep their own reason.
	const marker = state.suppressions.find(
		(s) =>
			(s.reason === NUMBER_CHANGED_SUPPRESSION || s.reason === FORGOTTEN_SUPPRESSION) &&
			(s.category === category || s.category === 'all'),
	);
	if (marker) return { allowed: false, reason: marker.reason as 'NUMBER_CHANGED' | 'FORGOTTEN', since: marker.at };
	const stop = optedOutSince(state, category);
	if (stop !== undefined) return { allowed: false, reason: 'OPTED_OUT', since: stop };
	const latest = state.consent[category];

	if (rules.undeliverableWithinMs !== undefined && isRecentlyUndeliverable(state, rules.undeliverableWithinMs, now)) {
		return { allowed: false, reason: 'NOT_ON_WHATSAPP', since: state.undeliverableAt };
	}

	const evidence: OptInEvidence[] = [];
	if (latest?.action === 'opt_in') {
		evidence.push({
			from: 'ledger',
			at: latest.at,
			texts: [latest.businessName, latest.wording].filter((t): t is string => !!t),
		});
	}
	let crmCoversOtherCategoriesOnly = false;
	if (crm?.optedIn === false) {
		// The CRM says this person did not (or no longer) agree: do not let an older ledger entry override it.
		return { allowed: false, reason: 'NO_OPT_IN' };
	}
	if (crm?.optedIn === true) {
		if (crm.categories && !crm.categories.includes(category)) crmCoversOtherCategoriesOnly = true;
		else
			evidence.push({
				from: 'crm',
				at: crm.optInAt,
				texts: [crm.businessName, crm.wording].filter((t): t is string => !!t),
			});
	}

	const fromLedger = evidence.some((e) => e.from === 'ledger');
	const fromCrm = evidence.some((e) => e.from === 'crm');
	if (!fromLedger && (!fromCrm || !rules.crmIsEnough)) {
		const ledgerCoversOther = Object.entries(state.consent).some(
			([c, e]) => c !== 'all' && c !== category && e?.action === 'opt_in',
		);
		if (!fromCrm && (crmCoversOtherCategoriesOnly || ledgerCoversOther))
			return { allowed: false, reason: 'CATEGORY_NOT_COVERED' };
		return { allowed: false, reason: 'NO_OPT_IN' };
	}

	if (rules.requireBusinessName && !evidence.some((e) => namesBusiness(e, rules.requireBusinessName!))) {
		return { allowed: false, reason: 'BUSINESS_NOT_NAMED' };
	}

	// The most recent opt-in is the one whose age matters; an opt-in with no date cannot prove its age.
	const dated = evidence.map((e) => e.at).filter((at): at is number => at !== undefined);
	const optInAt = dated.length ? Math.max(...dated) : undefined;
	if (rules.maxConsentAgeMs !== undefined) {
		if (optInAt === undefined) return { allowed: false, reason: 'CONSENT_EXPIRED' };
		if (optInAt < now - rules.maxConsentAgeMs) return { allowed: false, reason: 'CONSENT_EXPIRED', since: optInAt };
	}
	if (rules.inactivityMs !== undefined && (rules.inactivityCategories ?? INACTIVITY_CATEGORIES).includes(category)) {
		const lastSign = Math.max(state.lastInteractionAt ?? -Infinity, optInAt ?? -Infinity);
		if (!Number.isFinite(lastSign) || lastSign < now - rules.inactivityMs) {
			return { allowed: false, reason: 'INACTIVE', since: Number.isFinite(lastSign) ? lastSign : undefined };
		}
	}
	return { allowed: true, basis: fromLedger && fromCrm ? 'crm+ledger' : fromLedger ? 'ledger' : 'crm', optInAt };
}
