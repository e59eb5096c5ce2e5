import { createHmac } from 'node:crypto';

import { dedupeKeys, isFinalStatus, parseEnvelope, verifySignature } from '../../nodes/core/webhooks';
import {
	INBOUND_TEXT,
	MARKETING_RESUME,
	STATUS_FAILED,
	STATUS_SENT,
	STATUS_WITH_TRACKER,
	USER_CHANGED_NUMBER,
	INBOUND_USERNAME_ONLY,
	STATUS_SENT_TO_BSUID,
	STATUS_SENT_TO_PHONE_WITH_BSUID,
	USER_CHANGED_NUMBER_WITH_BSUIDS,
	USER_CHANGED_USER_ID,
} from '../fixtures/metaWebhooks';

describe('parseEnvelope on Meta’s payloads (fixtures from pywa’s test data)', () => {
	test.each([
		[
			'a sent status',
			STATUS_SENT,
			{
				kind: 'status',
				messageId: 'wamid.xyzxyz',
				status: 'sent',
				timestamp: 1698266945_000,
				recipientWaId: '972987654321',
				errors: [],
				pricing: { billable: true, pricing_model: 'CBP', category: 'service' },
				phoneNumberId: '1122334455667',
			},
		],
		[
			'a failed status, with its error code and details',
			STATUS_FAILED,
			{
				kind: 'status',
				status: 'failed',
				timestamp: 1689380458_000,
				errors: [
					{
						code: 130472,
						title: "User's number is part of an experiment",
						message: "User's number is part of an experiment",
						details: "Failed to send message because this user's phone number is part of an experiment",
					},
				],
			},
		],
		[
			'an inbound text, with the sender’s profile name',
			INBOUND_TEXT,
			{
				kind: 'inbound',
				messageId: 'wamid.xyzxyz',
				from: '972987654321',
				timestamp: 1697043223_000,
				type: 'text',
				text: 'Body Text',
				profileName: 'Test Name',
				phoneNumberId: '1122334455667',
			},
		],
		[
			'a number change (system message user_changed_number)',
			USER_CHANGED_NUMBER,
			{ kind: 'inbound', type: 'system', from: '972987654321', changedTo: '972912345678', timestamp: 1753851315_000 },
		],
		[
			'a marketing resume set inside WhatsApp',
			MARKETING_RESUME,
			{
				kind: 'user_preference',
				waId: '16505551234',
				category: 'marketing_messages',
				value: 'resume',
				timestamp: 1731705721_000,
			},
		],
	])('%s', (_, body, expected) => {
		// The fixtures were captured years ago: parse them as of their own time.
		const events = parseEnvelope(body, (expected as { timestamp: number }).timestamp)!;
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject(expected);
	});

	test.each([
		[
			'a username user’s message: no number, the BSUID from from_user_id, the username from contacts',
			INBOUND_USERNAME_ONLY,
			{
				kind: 'inbound',
				from: '',
				fromUserId: 'US.13491208655302741918',
				username: '@testusername',
				profileName: 'test user name',
				text: 'this is a text message',
			},
		],
		[
			'a status of a message sent to the number: contacts pairs it with the BSUID and parent BSUID',
			STATUS_SENT_TO_PHONE_WITH_BSUID,
			{
				kind: 'status',
				recipientWaId: '16315551181',
				recipientUserId: 'US.13491208655302741918',
				recipientParentUserId: 'US.ENT.506847293015824',
				pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'marketing' },
			},
		],
		[
			'a status of a message sent to the BSUID: no recipient_id',
			STATUS_SENT_TO_BSUID,
			{
				kind: 'status',
				recipientWaId: '',
				recipientUserId: 'US.13491208655302741918',
				recipientParentUserId: 'US.ENT.506847293015824',
			},
		],
	])('2026 identifiers (fixtures from whatsapp-api-js): %s', (_, body, expected) => {
		const events = parseEnvelope(body, 1504902988_000)!;
		expect(events).toEqual([expect.objectContaining(expected)]);
	});

	test.each([
		[
			'a BSUID change (user_changed_user_id): no number, the BSUIDs before and after',
			USER_CHANGED_USER_ID,
			{
				kind: 'inbound',
				type: 'system',
				from: '',
				previousUserId: 'IN.PREVIOUSBSUID',
				previousParentUserId: 'IN.ENT.PREVIOUSBSUID',
				changedToUserId: 'IN.CURRENTBSUID',
				changedToParentUserId: 'IN.ENT.CURRENTBSUID',
			},
		],
		[
			'a number change that names the previous and the new BSUID',
			USER_CHANGED_NUMBER_WITH_BSUIDS,
			{
				kind: 'inbound',
				type: 'system',
				changedTo: '16505550002',
				previousUserId: 'IN.PREVIOUSBSUID',
				changedToUserId: 'IN.CURRENTBSUID',
			},
		],
	])(
		'identifier changes (fixtures from Chatwoot, fields from Meta’s system messages reference): %s',
		(_, body, expected) => {
			expect(parseEnvelope(body, 1664799904_000)).toEqual([expect.objectContaining(expected)]);
		},
	);

	test('a previous_user_id that is not a BSUID is reported, never keyed', () => {
		const body = structuredClone(USER_CHANGED_USER_ID);
		(body.entry[0].changes[0].value.messages[0].system as Record<string, unknown>).previous_user_id = 42;
		expect(parseEnvelope(body, 1664799904_000)).toEqual([
			expect.objectContaining({ kind: 'invalid', reason: 'system.previous_user_id is not a business-scoped user ID' }),
		]);
	});

	test('a recipient_user_id that is not a BSUID is reported, never keyed', () => {
		const body = structuredClone(STATUS_SENT_TO_BSUID);
		(body.entry[0].changes[0].value.statuses[0] as Record<string, unknown>).recipient_user_id = '13491208655302741918';
		expect(parseEnvelope(body, 1504902988_000)).toEqual([
			expect.objectContaining({ kind: 'invalid', reason: 'recipient_user_id is not a business-scoped user ID' }),
		]);
	});

	test('another system’s callback data ("some data") attributes the status to no campaign', () => {
		const [event] = parseEnvelope(STATUS_WITH_TRACKER, 1698266945_000)!;
		expect(event).toMatchObject({ kind: 'status', status: 'sent' });
		expect(event).not.toHaveProperty('campaignId');
	});

	test.each([
		['null', null],
		['another object', { object: 'page', entry: [] }],
		['no entry list', { object: 'whatsapp_business_account' }],
	])('is not a WhatsApp Business Account webhook: %s', (_, body) => {
		expect(parseEnvelope(body)).toBeUndefined();
	});

	test('an account-level field becomes an account event of its kind', () => {
		const body = {
			object: 'whatsapp_business_account',
			entry: [{ changes: [{ field: 'phone_number_quality_update', value: { event: 'FLAGGED' } }] }],
		};
		expect(parseEnvelope(body)).toEqual([
			{ kind: 'phone_quality', field: 'phone_number_quality_update', value: { event: 'FLAGGED' } },
		]);
	});
});

describe('verifySignature', () => {
	const secret = 'app-secret';
	const raw = Buffer.from(JSON.stringify(STATUS_SENT));
	const signature = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
	test.each([
		['the right signature', signature, true],
		['another secret’s signature', `sha256=${createHmac('sha256', 'other').update(raw).digest('hex')}`, false],
		['no prefix', signature.slice(7), false],
		['truncated', signature.slice(0, -2), false],
		['missing', undefined, false],
	])('%s → %s', (_, header, expected) => {
		expect(verifySignature(raw, header, secret)).toBe(expected);
	});
});

describe('isFinalStatus and dedupe keys', () => {
	test.each([
		['sent', false],
		['delivered', true],
		['read', true],
		['played', true],
		['failed', true],
	])('%s is final: %s', (status, expected) => expect(isFinalStatus(status)).toBe(expected));

	test('a status key differs per status; a delivery key is one per message', () => {
		expect(dedupeKeys.status('wamid.A', 'read')).not.toBe(dedupeKeys.status('wamid.A', 'delivered'));
		expect(dedupeKeys.delivery('wamid.A')).toBe(dedupeKeys.delivery('wamid.A'));
	});
});

describe('parseEnvelope: each update on its own; one that is not Meta’s shape is reported, never applied', () => {
	const now = Date.parse('2026-12-02T12:00:00Z');
	const ts = String(Math.floor(now / 1000));
	const envelope = (field: string, value: unknown) => ({
		object: 'whatsapp_business_account',
		entry: [{ id: '1', changes: [{ field, value }] }],
	});
	const stop = { from: '33612345678', id: 'wamid.stop', timestamp: ts, type: 'text', text: { body: 'STOP' } };

	test.each([
		[
			'a text body that is a number',
			{ messages: [{ ...stop, id: 'wamid.n', text: { body: 42 } }] },
			/text.body is not a string/,
		],
		[
			'a status timestamp in the year 5138',
			{ statuses: [{ id: 'w', status: 'read', timestamp: '99999999999999', recipient_id: '33612345678' }] },
			/timestamp/,
		],
		[
			'a status named constructor',
			{ statuses: [{ id: 'w', status: 'constructor', timestamp: ts }] },
			/not one Meta sends/,
		],
		['a status named toString', { statuses: [{ id: 'w', status: 'toString', timestamp: ts }] }, /not one Meta sends/],
		['statuses as a string', { statuses: 'sent' }, /statuses is not a list/],
		['a status that is null', { statuses: [null] }, /not an object/],
		[
			'an error list that is an object',
			{ statuses: [{ id: 'w', status: 'failed', timestamp: ts, errors: { code: 1 } }] },
			/errors is not a list/,
		],
		[
			'a recipient that is not a WhatsApp ID',
			{ statuses: [{ id: 'w', status: 'read', timestamp: ts, recipient_id: { a: 1 } }] },
			/recipient_id/,
		],
		['a message without an id', { messages: [{ ...stop, id: undefined }] }, /id is missing/],
	])('%s', (_, value, reason) => {
		const events = parseEnvelope(envelope('messages', value), now)!;
		expect(events).toEqual([
			expect.objectContaining({ kind: 'invalid', field: 'messages', reason: expect.stringMatching(reason) }),
		]);
	});

	test('a bad message and a STOP in one delivery: the STOP is still parsed', () => {
		const events = parseEnvelope(
			envelope('messages', { messages: [{ ...stop, id: 'wamid.n', text: { body: 42 } }, stop] }),
			now,
		)!;
		expect(events.map((e) => e.kind)).toEqual(['invalid', 'inbound']);
		expect(events[1]).toMatchObject({ text: 'STOP', from: '33612345678' });
	});

	test.each([
		[
			'a change value that is a string',
			{ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: 'x' }] }] },
		],
		['an entry without changes', { object: 'whatsapp_business_account', entry: [{}] }],
		['an entry that is an array', { object: 'whatsapp_business_account', entry: [[1, 2]] }],
		['user_preferences as null items', envelope('user_preferences', { user_preferences: [null] })],
	])('%s becomes one invalid update', (_, body) => {
		expect(parseEnvelope(body, now)!.map((e) => e.kind)).toEqual(['invalid']);
	});

	test('100,000 levels of nesting in an account update are cut to a depth that can be stored and emitted', () => {
		let deep: Record<string, unknown> = {};
		const root = { event: 'ACCOUNT_RESTRICTION', restriction_info: deep };
		for (let i = 0; i < 100_000; i++) deep = (deep.next = {}) as Record<string, unknown>;
		const [event] = parseEnvelope(envelope('account_update', root), now)!;
		expect(event).toMatchObject({ kind: 'account_update', value: { event: 'ACCOUNT_RESTRICTION' } });
		expect(() => JSON.stringify(event)).not.toThrow();
		expect(JSON.stringify(event)).toContain('[…]');
	});

	test('a field named constructor is an "other" account event, not Object’s', () => {
		expect(parseEnvelope(envelope('constructor', {}), now)).toEqual([
			{ kind: 'other', field: 'constructor', value: {} },
		]);
	});
});
