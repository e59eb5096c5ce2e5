/**
 * One person, one contact: a STOP or a failure that arrives from a wa_id in an older national form
 * (Mexico `521…`, Brazil without the mobile 9) reaches the number the CRM holds, and an update with no
 * usable identifier is never written against a made-up contact. Bodies are Meta's inbound and
 * user_preferences shapes (test/fixtures/metaWebhooks.ts, from pywa's test data) with the wa_ids
 * changed, posted signed to the Delivery Monitor over a real socket.
 */
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { postSigned, useMonitorLoop } from '../harness/monitorLoop';
import {
	INBOUND_TEXT,
	INBOUND_USERNAME_ONLY,
	MARKETING_RESUME,
	STATUS_SENT_TO_BSUID,
	STATUS_SENT_TO_PHONE_WITH_BSUID,
	USER_CHANGED_NUMBER,
	USER_CHANGED_NUMBER_WITH_BSUIDS,
	USER_CHANGED_USER_ID,
} from '../fixtures/metaWebhooks';

const monitorLoop = useMonitorLoop();

let messageSeq = 0;
/** Meta's inbound text envelope from this wa_id (or with no `from` at all). */
function inboundText(from: string | undefined, text: string) {
	const body = structuredClone(INBOUND_TEXT) as { entry: Array<{ changes: Array<{ value: IDataObject }> }> };
	const value = body.entry[0].changes[0].value;
	const message = (value.messages as IDataObject[])[0];
	message.id = `wamid.identity.${++messageSeq}`;
	message.timestamp = String(Math.floor(Date.now() / 1000));
	(message.text as IDataObject).body = text;
	if (from === undefined) {
		delete message.from;
		delete value.contacts;
	} else {
		message.from = from;
		(value.contacts as IDataObject[])[0].wa_id = from;
	}
	return body;
}

/** Meta's user_preferences envelope: this wa_id stopped marketing inside WhatsApp. */
function marketingStop(waId: string) {
	const body = structuredClone(MARKETING_RESUME) as { entry: Array<{ changes: Array<{ value: IDataObject }> }> };
	const value = body.entry[0].changes[0].value;
	(value.contacts as IDataObject[])[0].wa_id = waId;
	Object.assign((value.user_preferences as IDataObject[])[0], {
		wa_id: waId,
		value: 'stop',
		detail: 'User requested to stop marketing messages',
		timestamp: Math.floor(Date.now() / 1000),
	});
	return body;
}

const post = async (envelope: unknown) => await postSigned(monitorLoop(), envelope);

async function marketingConsent(e164: string) {
	const check = await runWorkflow('consent-check.json', {
		items: [{ whatsapp: { e164 }, whatsappOptIn: true }],
		parameters: { 'Consent Gate': {} },
	});
	const allowed = check.json('Consent Gate', 0)[0]?.consent;
	return (allowed ?? check.json('Consent Gate', 1)[0].consent) as IDataObject;
}

describe('one person, one contact across national wa_id forms', () => {
	test.each([
		['Mexico: a STOP from the old 521 wa_id', '5215512340001', '+525512340001'],
		['Brazil: a STOP from a 12-digit wa_id without the mobile 9', '553196880001', '+5531996880001'],
		['Argentina: a STOP from a 549 wa_id, the CRM number written without the 9', '5491123450001', '+541123450001'],
	])('%s blocks marketing to the number the CRM holds', async (_, waId, crmNumber) => {
		expect(await marketingConsent(crmNumber)).toMatchObject({ allowed: true });
		await post(inboundText(waId, 'STOP'));
		expect(await marketingConsent(crmNumber)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});

	test('Mexico: a marketing stop set inside WhatsApp from a 521 wa_id blocks the +52 number', async () => {
		expect(await marketingConsent('+525512340002')).toMatchObject({ allowed: true });
		await post(marketingStop('5215512340002'));
		expect(await marketingConsent('+525512340002')).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});

	test('a STOP from one person blocks that person only', async () => {
		await post(inboundText('5215512340003', 'STOP'));
		expect(await marketingConsent('+525512340003')).toMatchObject({ allowed: false });
		expect(await marketingConsent('+525512340004')).toMatchObject({ allowed: true });
	});
});

/** Meta's system message: the person behind `from` moved to `to`. */
function numberChanged(from: string, to: string) {
	const body = structuredClone(USER_CHANGED_NUMBER) as { entry: Array<{ changes: Array<{ value: IDataObject }> }> };
	const message = (body.entry[0].changes[0].value.messages as IDataObject[])[0];
	Object.assign(message, {
		from,
		id: `wamid.identity.${++messageSeq}`,
		timestamp: String(Math.floor(Date.now() / 1000)),
	});
	Object.assign(message.system as IDataObject, { wa_id: to, body: `User A changed from ${from} to ${to}` });
	return body;
}

describe('changed numbers', () => {
	test('a person who opted out and changed number stays opted out at the new one; the old one is blocked as NUMBER_CHANGED', async () => {
		const [oldNumber, newNumber] = ['+33612349001', '+33612349002'];
		await post(inboundText(oldNumber.slice(1), 'STOP'));
		expect(await marketingConsent(newNumber)).toMatchObject({ allowed: true });
		const execution = await post(numberChanged(oldNumber.slice(1), newNumber.slice(1)));
		expect(execution![1][0].json).toMatchObject({
			kind: 'number_change',
			from: oldNumber,
			changedTo: newNumber,
			consentCarriedOver: { carriedSuppressions: 3, carriedOptOuts: 1 },
		});
		expect(await marketingConsent(newNumber)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent(oldNumber)).toMatchObject({ allowed: false, reason: 'NUMBER_CHANGED' });
	});

	test('the old number loses the previous owner’s opt-in: blocked as NUMBER_CHANGED, not allowed', async () => {
		const [oldNumber, newNumber] = ['+33612349003', '+33612349004'];
		expect(await marketingConsent(oldNumber)).toMatchObject({ allowed: true });
		await post(numberChanged(oldNumber.slice(1), newNumber.slice(1)));
		expect(await marketingConsent(oldNumber)).toMatchObject({ allowed: false, reason: 'NUMBER_CHANGED' });
	});
});

type Envelope = { entry: Array<{ changes: Array<{ value: IDataObject }> }> };
const now = () => String(Math.floor(Date.now() / 1000));

/** whatsapp-api-js's username-only message (no number), from this BSUID. */
function usernameText(bsuid: string, text: string) {
	const body = structuredClone(INBOUND_USERNAME_ONLY) as unknown as Envelope;
	const value = body.entry[0].changes[0].value;
	Object.assign((value.messages as IDataObject[])[0], {
		id: `wamid.identity.${++messageSeq}`,
		timestamp: now(),
		from_user_id: bsuid,
		text: { body: text },
	});
	(value.contacts as IDataObject[])[0].user_id = bsuid;
	return body;
}

/** whatsapp-api-js's 2026 status of a message sent to a number: `contacts` pairs it with a BSUID. */
function statusPairing(waId: string, bsuid: string) {
	const body = structuredClone(STATUS_SENT_TO_PHONE_WITH_BSUID) as unknown as Envelope;
	const value = body.entry[0].changes[0].value;
	Object.assign((value.statuses as IDataObject[])[0], {
		id: `wamid.identity.${++messageSeq}`,
		timestamp: now(),
		recipient_id: waId,
	});
	Object.assign((value.contacts as IDataObject[])[0], { wa_id: waId, user_id: bsuid, parent_user_id: undefined });
	return body;
}

const stateOf = async (identifier: string) => {
	const store = await openStore({ kind: 'sqlite' });
	const [key] = await store.identities.resolve([store.contactKey(identifier)]);
	return (await store.ledger.contactStates([key])).get(key)!;
};

describe('business-scoped user IDs (usernames)', () => {
	test('two username users who withhold their numbers never share a contact: each STOP stays with its sender', async () => {
		const [first, second] = ['US.13491208655302740001', 'US.13491208655302740002'];
		const execution = await post(usernameText(first, 'STOP'));
		expect(execution![2][0].json).toMatchObject({
			kind: 'opt_out',
			from: first,
			userId: first,
			username: '@testusername',
		});
		expect(execution![2][0].json).not.toHaveProperty('recorded');
		expect((await stateOf(first)).consent.all).toMatchObject({ action: 'opt_out', source: 'whatsapp-keyword' });
		expect(await stateOf(second)).toEqual({ consent: {}, suppressions: [] });
		await post(usernameText(second, 'START'));
		expect((await stateOf(first)).consent.all).toMatchObject({ action: 'opt_out' });
	});

	test('a STOP by BSUID only blocks the number Meta paired that BSUID with, and only that number', async () => {
		const bsuid = 'US.13491208655302740003';
		await post(statusPairing('16315559003', bsuid));
		expect(await marketingConsent('+16315559003')).toMatchObject({ allowed: true });
		await post(usernameText(bsuid, 'STOP'));
		expect(await marketingConsent('+16315559003')).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent('+16315559004')).toMatchObject({ allowed: true });
	});

	test('a STOP by BSUID that arrived before Meta paired the BSUID with a number follows to the number', async () => {
		const bsuid = 'BR.1502576394650005';
		await post(usernameText(bsuid, 'STOP'));
		expect(await marketingConsent('+5531996880005')).toMatchObject({ allowed: true });
		// Brazil's older 12-digit wa_id, too: the pairing reaches the number the CRM holds.
		await post(statusPairing('553196880005', bsuid));
		expect(await marketingConsent('+5531996880005')).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});
});

describe('BSUID recipients end to end', () => {
	test('a campaign to a username user’s BSUID is sent in `recipient`, its statuses are counted, and their STOP blocks the next campaign', async () => {
		const { sandbox, sendCampaign } = monitorLoop();
		const bsuid = 'US.13491208655302749001';
		const [sent] = await sendCampaign('bsuid-first', [bsuid]);
		expect(sent.map((i) => i.json.whatsappSend)).toEqual([expect.objectContaining({ status: 'sent' })]);
		expect(sandbox.acceptedSends().find((r) => r.to === bsuid)?.body).toMatchObject({ recipient: bsuid });
		await sandbox.flushWebhooks();
		const store = await openStore({ kind: 'sqlite' });
		expect(await store.campaigns.counters('bsuid-first')).toMatchObject({
			sent: 1,
			statusSent: 1,
			delivered: 1,
			read: 1,
		});

		// Their STOP, by BSUID only: Consent Gate blocks them, and only them.
		expect(await marketingConsent(bsuid)).toMatchObject({ allowed: true });
		sandbox.injectUsernameText(bsuid, 'STOP');
		await sandbox.flushWebhooks();
		expect(await marketingConsent(bsuid)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent('US.13491208655302749002')).toMatchObject({ allowed: true });
	});

	test('the sandbox’s number change and BSUID change: the person’s STOP under the newest BSUID blocks their new number', async () => {
		const { sandbox, sendCampaign } = monitorLoop();
		const [oldNumber, newNumber] = ['+16315559201', '+16315559202'];
		sandbox.setBsuid(oldNumber, 'US.13491208655302749201');
		await sendCampaign('bsuid-changes', [oldNumber]);
		sandbox.injectNumberChange(oldNumber, newNumber, 'US.13491208655302749202');
		sandbox.injectBsuidChange('US.13491208655302749202', 'US.13491208655302749203');
		sandbox.injectUsernameText('US.13491208655302749203', 'STOP');
		await sandbox.flushWebhooks();
		expect(await marketingConsent(newNumber)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent(oldNumber)).toMatchObject({ allowed: false, reason: 'NUMBER_CHANGED' });
		expect(await marketingConsent('+16315559203')).toMatchObject({ allowed: true });
	});

	test('a BSUID Meta paired with a number is the number’s contact: a campaign to either reaches the same person once', async () => {
		const { sandbox, sendCampaign } = monitorLoop();
		const [number, bsuid] = ['+16315559101', 'US.13491208655302749101'];
		sandbox.setBsuid(number, bsuid);
		await sendCampaign('bsuid-paired', [number]);
		await sandbox.flushWebhooks();
		const store = await openStore({ kind: 'sqlite' });
		expect(await store.identities.resolve([store.contactKey(bsuid)])).toEqual([store.contactKey(number)]);
		// The CRM now has the BSUID for the same person: the campaign already reached them.
		const [sent, , notSent] = await sendCampaign('bsuid-paired', [bsuid]);
		expect(sent).toEqual([]);
		expect(notSent.map((i) => i.json.whatsappSend)).toEqual([expect.objectContaining({ reason: 'ALREADY_SENT' })]);
	});
});

describe('pairings learned from Meta’s answer to a send', () => {
	test('Meta answers with a wa_id no national rule knows: the statuses and the STOP from it reach the person sent to, and only them', async () => {
		const { sandbox, sendCampaign } = monitorLoop();
		// Meta's answer names the recipient `contacts[].wa_id`, which may differ from the input (Meta's
		// send-message response; the sandbox answers with the wa_id set here and uses it in the statuses).
		const [number, waId] = ['+16315559301', '16315559388'];
		sandbox.setWaId(number, waId);
		const [sent] = await sendCampaign('answer-pairing', [number]);
		expect(sent.map((i) => i.json.whatsappSend)).toEqual([expect.objectContaining({ status: 'sent', waId })]);
		await sandbox.flushWebhooks();
		const store = await openStore({ kind: 'sqlite' });
		expect(await store.identities.resolve([store.contactKey(`+${waId}`)])).toEqual([store.contactKey(number)]);
		expect(await store.campaigns.counters('answer-pairing')).toMatchObject({ sent: 1, delivered: 1, read: 1 });

		expect(await marketingConsent(number)).toMatchObject({ allowed: true });
		sandbox.injectInboundText(waId, 'STOP');
		await sandbox.flushWebhooks();
		expect(await marketingConsent(number)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent('+16315559302')).toMatchObject({ allowed: true });
		// The read reached the person sent to, not a contact of its own under the wa_id.
		expect((await store.ledger.contactStates([store.contactKey(number)])).get(store.contactKey(number))).toMatchObject({
			lastInteractionAt: expect.any(Number),
		});
	});
});

describe('never a made-up key', () => {
	test('a STOP with no sender is emitted as not recorded, and nobody else is opted out', async () => {
		const execution = await post(inboundText(undefined, 'STOP'));
		expect(execution![2][0].json).toMatchObject({
			kind: 'opt_out',
			from: null,
			recorded: false,
			reason: 'NO_IDENTIFIER',
		});
		// Before, such updates were keyed as the contact "+": one shared pseudo-contact for all of them.
		const store = await openStore({ kind: 'sqlite' });
		const pseudo = (await store.ledger.contactStates([store.contactKey('+')])).get(store.contactKey('+'))!;
		expect(pseudo).toEqual({ consent: {}, suppressions: [] });
	});

	test('a failed status that names nobody is counted as unattributed in its campaign, emitted, and written against no one', async () => {
		const body = structuredClone(STATUS_SENT_TO_BSUID) as unknown as Envelope;
		const value = body.entry[0].changes[0].value;
		Object.assign((value.statuses as IDataObject[])[0], {
			id: `wamid.identity.${++messageSeq}`,
			status: 'failed',
			timestamp: now(),
			recipient_user_id: undefined,
			parent_recipient_user_id: undefined,
			biz_opaque_callback_data: 'wac1|unattributed-run|A',
			errors: [{ code: 131026, title: 'Message undeliverable' }],
		});
		delete value.contacts;
		const execution = await post(body);
		expect(execution![0][0].json).toMatchObject({
			status: 'failed',
			recipient: null,
			recorded: false,
			reason: 'NO_IDENTIFIER',
		});
		const report = await runWorkflow('campaign-control.json', {
			items: [{}],
			parameters: { 'Campaign Control': { operation: 'getReport', campaignId: 'unattributed-run' } },
		});
		expect(report.outputs('Campaign Control')[0][0].json.report).toMatchObject({ unattributed: 1, deliveryFailed: 1 });
	});
});

/** Chatwoot's `user_changed_user_id` (Meta's system message): the person's BSUIDs before and after. */
function userIdChanged(ids: { previous?: string; previousParent?: string; next: string; nextParent?: string }) {
	const body = structuredClone(USER_CHANGED_USER_ID) as unknown as Envelope;
	const message = (body.entry[0].changes[0].value.messages as IDataObject[])[0];
	Object.assign(message, { id: `wamid.identity.${++messageSeq}`, timestamp: now() });
	message.system = {
		type: 'user_changed_user_id',
		user_id: ids.next,
		...(ids.previous ? { previous_user_id: ids.previous } : {}),
		...(ids.previousParent ? { previous_parent_user_id: ids.previousParent } : {}),
		...(ids.nextParent ? { parent_user_id: ids.nextParent } : {}),
	};
	return body;
}

/** Chatwoot's `user_changed_number` with BSUIDs, sent by the old number. */
function numberChangedWithBsuids(from: string, to: string, previous: string, next: string) {
	const body = structuredClone(USER_CHANGED_NUMBER_WITH_BSUIDS) as unknown as Envelope;
	const message = (body.entry[0].changes[0].value.messages as IDataObject[])[0];
	Object.assign(message, { from, id: `wamid.identity.${++messageSeq}`, timestamp: now() });
	Object.assign(message.system as IDataObject, { wa_id: to, previous_user_id: previous, user_id: next });
	return body;
}

/** Consent Gate's marketing decision for a recipient given as Number Validation passes it (number or BSUID). */
async function marketingConsentFor(recipient: string) {
	const check = await runWorkflow('consent-check.json', {
		items: [{ whatsapp: { recipient }, whatsappOptIn: true }],
		parameters: { 'Consent Gate': {} },
	});
	return (check.json('Consent Gate', 0)[0]?.consent ?? check.json('Consent Gate', 1)[0].consent) as IDataObject;
}

describe('BSUID changes (system messages user_changed_user_id and user_changed_number)', () => {
	test('after a BSUID change, a STOP from the new BSUID blocks the number the old one was paired with, and only it', async () => {
		const [previous, next] = ['IN.98123400011', 'IN.98123400012'];
		await post(statusPairing('919812340001', previous));
		const execution = await post(
			userIdChanged({ previous, next, previousParent: 'IN.ENT.9812340001', nextParent: 'IN.ENT.9812340002' }),
		);
		expect(execution![1][0].json).toMatchObject({
			kind: 'user_id_change',
			from: previous,
			changedToUserId: next,
			type: 'system',
		});
		await post(usernameText(next, 'STOP'));
		expect(await marketingConsent('+919812340001')).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent('+919812340002')).toMatchObject({ allowed: true });
	});

	test('a username user who opted out under the old BSUID stays opted out under the new one (no number known)', async () => {
		const [previous, next, nextParent] = ['IN.98123400021', 'IN.98123400022', 'IN.ENT.98123400022'];
		await post(usernameText(previous, 'STOP'));
		expect(await marketingConsentFor(next)).toMatchObject({ allowed: true });
		await post(userIdChanged({ previous, next, nextParent }));
		expect(await marketingConsentFor(next)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsentFor(nextParent)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	});

	test('a number change that names the new BSUID: the person’s STOP follows to the new number and its BSUID', async () => {
		const [oldNumber, newNumber] = ['+919812340031', '+919812340032'];
		const [previous, next] = ['IN.98123400031', 'IN.98123400032'];
		await post(statusPairing(oldNumber.slice(1), previous));
		await post(inboundText(oldNumber.slice(1), 'STOP'));
		await post(numberChangedWithBsuids(oldNumber.slice(1), newNumber.slice(1), previous, next));
		expect(await marketingConsentFor(next)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent(newNumber)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
		expect(await marketingConsent(oldNumber)).toMatchObject({ allowed: false, reason: 'NUMBER_CHANGED' });
	});

	test('a BSUID change naming nobody known changes nothing for anyone else', async () => {
		const execution = await post(userIdChanged({ previous: 'IN.98123400041', next: 'IN.98123400042' }));
		expect(execution![1][0].json).toMatchObject({ kind: 'user_id_change', changedToUserId: 'IN.98123400042' });
		expect(execution![1][0].json).not.toHaveProperty('recorded');
		expect(await marketingConsentFor('IN.98123400042')).toMatchObject({ allowed: true });
	});
});
