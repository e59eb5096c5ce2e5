import { accountAction } from '../../nodes/core/accountEvents';

/** Values from pywa's test data (tests/data/updates/account_update.json, commit a1b3ce5) unless noted. */
describe('accountAction: pause, lift or alert for each of Meta’s account events', () => {
	test.each([
		['ACCOUNT_DELETED', { event: 'ACCOUNT_DELETED' }, { action: 'pause', reason: 'account_update:ACCOUNT_DELETED' }],
		[
			'ACCOUNT_RESTRICTION of business-initiated messaging',
			{
				event: 'ACCOUNT_RESTRICTION',
				restriction_info: [
					{ restriction_type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: 1641330498 },
					{ restriction_type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiration: 1641330498 },
				],
			},
			{ action: 'pause', reason: 'account_update:ACCOUNT_RESTRICTION' },
		],
		[
			'ACCOUNT_RESTRICTION of adding numbers only (sending goes on)',
			{
				event: 'ACCOUNT_RESTRICTION',
				restriction_info: [{ restriction_type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION', expiration: 1641330498 }],
			},
			{ action: 'alert' },
		],
		[
			'ACCOUNT_VIOLATION',
			{ event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'ADULT' } },
			{ action: 'pause', reason: 'account_update:ACCOUNT_VIOLATION' },
		],
		[
			'DISABLED_UPDATE with REINSTATE: the account is back',
			{ event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: 'REINSTATE', waba_ban_date: 'April 17, 2025' } },
			{ action: 'lift', lifts: ['account_update:DISABLED_UPDATE'] },
		],
		[
			// A BSP's passthrough of Meta's payload (itniotech's "Waba disabled" example).
			'DISABLED_UPDATE with DISABLE',
			{ event: 'DISABLED_UPDATE', ban_info: { waba_ban_state: 'DISABLE', waba_ban_date: 'October 9, 2023' } },
			{ action: 'pause', reason: 'account_update:DISABLED_UPDATE' },
		],
		[
			'ACCOUNT_OFFBOARDED',
			{ event: 'ACCOUNT_OFFBOARDED' },
			{ action: 'pause', reason: 'account_update:ACCOUNT_OFFBOARDED' },
		],
		[
			'ACCOUNT_RECONNECTED',
			{ event: 'ACCOUNT_RECONNECTED' },
			{ action: 'lift', lifts: ['account_update:ACCOUNT_OFFBOARDED'] },
		],
		[
			'PARTNER_APP_INSTALLED',
			{ event: 'PARTNER_APP_INSTALLED', waba_info: { waba_id: '1191624265890717' } },
			{ action: 'alert' },
		],
		['VOLUME_BASED_PRICING_TIER_UPDATE', { event: 'VOLUME_BASED_PRICING_TIER_UPDATE' }, { action: 'alert' }],
		['MM_LITE_TERMS_SIGNED', { event: 'MM_LITE_TERMS_SIGNED' }, { action: 'alert' }],
	])('account_update %s', (_, value, expected) => {
		expect(accountAction('account_update', value)).toEqual(expected);
	});

	test.each([
		['FLAGGED', { action: 'pause', reason: 'phone_number_quality_update:FLAGGED' }],
		['DOWNGRADE', { action: 'pause', reason: 'phone_number_quality_update:DOWNGRADE' }],
		['UPGRADE', { action: 'alert' }],
		['UNFLAGGED', { action: 'alert' }],
	])('phone_number_quality_update %s', (event, expected) => {
		expect(accountAction('phone_number_quality_update', { event })).toEqual(expected);
	});
});
