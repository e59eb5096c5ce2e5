import { createHmac } from 'node:crypto';

import { dedupeKeys, isFinalStatus, parseEnvelope, verifySignature } from '../../nodes/core/webhooks';
import {
	INBOUND_TEXT,
	MARKETING_RESUME,
	STATUS_FAILED,
	STATUS_SENT,
	USER_CHANGED_NUMBER,
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
		const events = parseEnvelope(body)!;
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject(expected);
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
