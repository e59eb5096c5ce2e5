/**
 * What a person says about marketing inside WhatsApp means what Meta says (issue #20): a tap on a
 * marketing opt-out quick reply ("Stop promotions") stops marketing whatever payload the template set;
 * a `user_preferences` resume is recorded in the ledger without restoring consent (unless configured);
 * a value Meta does not document is emitted, never read as a resume. Bodies are Meta's shapes from
 * pywa's test data (test/fixtures/metaWebhooks.ts) with the wa_ids changed, posted signed to the
 * Delivery Monitor over a real socket.
 */
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/store/openStore';
import { runWorkflow } from '../harness/WorkflowHarness';
import { postSigned, useMonitorLoop } from '../harness/monitorLoop';
import { MARKETING_RESUME, QUICK_REPLY_BUTTON } from '../fixtures/metaWebhooks';

const monitorLoop = useMonitorLoop();

type Envelope = { entry: Array<{ changes: Array<{ value: IDataObject }> }> };
let seq = 0;
const now = () => Math.floor(Date.now() / 1000) + ++seq;

/** pywa's quick-reply envelope, from this wa_id, with this button label and payload. */
function quickReply(waId: string, text: string, payload: string) {
	const body = structuredClone(QUICK_REPLY_BUTTON) as Envelope;
	const value = body.entry[0].changes[0].value;
	Object.assign((value.contacts as IDataObject[])[0], { wa_id: waId });
	delete (value.contacts as IDataObject[])[0].user_id;
	delete (value.contacts as IDataObject[])[0].parent_user_id;
	const message = (value.messages as IDataObject[])[0];
	Object.assign(message, { from: waId, id: `wamid.pref.${++seq}`, timestamp: String(now()) });
	message.button = { payload, text };
	return body;
}

/** pywa's user_preferences envelope, from this wa_id, with this value. */
function preference(waId: string, value: string) {
	const body = structuredClone(MARKETING_RESUME) as Envelope;
	const change = body.entry[0].changes[0].value;
	(change.contacts as IDataObject[])[0].wa_id = waId;
	Object.assign((change.user_preferences as IDataObject[])[0], { wa_id: waId, value, timestamp: now() });
	return body;
}

const post = async (envelope: unknown) => (await postSigned(monitorLoop(), envelope))!;

async function consent(e164: string, category = 'marketing') {
	const check = await runWorkflow('consent-check.json', {
		items: [{ whatsapp: { e164 }, whatsappOptIn: true }],
		parameters: { 'Consent Gate': { category } },
	});
	return (check.json('Consent Gate', 0)[0] ?? check.json('Consent Gate', 1)[0]).consent as IDataObject;
}

async function history(e164: string) {
	const store = await openStore({ kind: 'sqlite' });
	return (await store.ledger.consentHistory(store.contactKey(e164))).map((e) => [e.action, e.category, e.source]);
}

test('a tap on a marketing opt-out quick reply stops marketing whatever its payload; utility still goes', async () => {
	const e164 = '+33612347001';
	expect(await consent(e164)).toMatchObject({ allowed: true });
	const execution = await post(quickReply(e164.slice(1), 'Stop promotions', 'spring_sale_2026'));
	expect(execution[2].map((i) => i.json)).toEqual([
		expect.objectContaining({
			kind: 'opt_out',
			categories: ['marketing'],
			source: 'whatsapp-marketing-optout-button',
			text: 'Stop promotions',
			payload: 'spring_sale_2026',
		}),
	]);
	expect(await consent(e164)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
	expect(await consent(e164, 'utility')).toMatchObject({ allowed: true });
	expect(await history(e164)).toEqual([['opt_out', 'marketing', 'whatsapp-marketing-optout-button']]);
});

test('a quick reply that names no opt-out word is an ordinary inbound message', async () => {
	const e164 = '+33612347002';
	const execution = await post(quickReply(e164.slice(1), 'Tell me more', 'spring_sale_2026'));
	expect(execution[1].map((i) => i.json)).toEqual([
		expect.objectContaining({ kind: 'inbound', type: 'button', buttonPayload: 'spring_sale_2026' }),
	]);
	expect(await consent(e164)).toMatchObject({ allowed: true });
});

test('a resume is recorded in the ledger but restores no consent by itself; the stop before it still holds', async () => {
	const e164 = '+33612347003';
	await post(preference(e164.slice(1), 'stop'));
	const execution = await post(preference(e164.slice(1), 'resume'));
	expect(execution[2].map((i) => i.json)).toEqual([
		expect.objectContaining({ kind: 'resume', action: 'marketing_resumed', consentRestored: false }),
	]);
	expect(await history(e164)).toEqual([
		['opt_out', 'marketing', 'whatsapp-preferences'],
		['marketing_resumed', 'marketing', 'whatsapp-preferences'],
	]);
	expect(await consent(e164)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
});

test('a preference value Meta does not document is emitted as it came and records nothing (never read as a resume)', async () => {
	const e164 = '+33612347004';
	await post(preference(e164.slice(1), 'stop'));
	const execution = await post(preference(e164.slice(1), 'sign_up'));
	expect(execution[2].map((i) => i.json)).toEqual([
		expect.objectContaining({ kind: 'preference', value: 'sign_up', recorded: false, reason: 'UNKNOWN_PREFERENCE' }),
	]);
	expect(await history(e164)).toEqual([['opt_out', 'marketing', 'whatsapp-preferences']]);
	expect(await consent(e164)).toMatchObject({ allowed: false, reason: 'OPTED_OUT' });
});
