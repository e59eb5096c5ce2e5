/**
 * The package inside a real n8n 2.x, installed from its tarball the way the Community Nodes UI does,
 * workflows created and activated through n8n's REST API, campaigns driven through production
 * webhook URLs, the Cloud API played by the sandbox over real sockets.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

import { parseCallbackData } from '../../nodes/core/callbackData';
import { contact, e164Of, goodContacts, messyList, mobileE164, type Contact } from './contacts.ts';
import { CampaignEnvironment, loadWorkflow, type WorkflowNode } from './environment.ts';
import { PACKAGE_NAME, REPO_ROOT, sleep } from './n8nInstance.ts';

jest.setTimeout(20 * 60_000);

const WORKFLOWS = {
	campaign: 'examples/webhook-campaign.json',
	monitor: 'test/e2e/workflows/delivery-monitor.json',
	control: 'examples/campaign-control-slack.json',
};

let env: CampaignEnvironment;
const digits = (e164: string) => e164.replace(/\D/g, '');

beforeAll(async () => {
	env = await CampaignEnvironment.start({ log: (line) => process.stderr.write(`[e2e] ${line}\n`) });
	await env.provision(WORKFLOWS);
}, 20 * 60_000);

afterAll(async () => {
	await env?.close();
});

/** Fails with n8n's own log when an execution did not succeed. */
function expectSucceeded(outcome: { status: string; executionId: string }) {
	if (outcome.status !== 'success')
		throw new Error(`execution ${outcome.executionId} ended ${outcome.status}\n${env.n8n.output.slice(-4000)}`);
}

function expectOneTerminalStateEach(
	outcome: Awaited<ReturnType<CampaignEnvironment['runCampaign']>>,
	contacts: Contact[],
) {
	const lost = contacts.filter((c) => !outcome.states.has(c.contactId)).map((c) => c.contactId);
	const twice = [...outcome.states].filter(([, states]) => states.length !== 1).map(([id]) => id);
	expect({ lost, twice }).toEqual({ lost: [], twice: [] });
	expect(outcome.states.size).toBe(contacts.length);
}

describe('installed from the tarball into real n8n', () => {
	it('loads all seven nodes and both credentials from <user folder>/.n8n/nodes, not from a symlink', async () => {
		const installed = path.join(env.n8n.userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE_NAME);
		expect((await lstat(installed)).isSymbolicLink()).toBe(false);
		expect((await lstat(installed)).isDirectory()).toBe(true);
		const nodeTypes = await env.n8n.nodeTypeNames();
		expect(nodeTypes.filter((name) => name.startsWith(`${PACKAGE_NAME}.`)).sort()).toEqual(
			[
				'whatsAppCampaignControl',
				'whatsAppConsentGate',
				'whatsAppDeliveryMonitorOwnPortTrigger',
				'whatsAppDeliveryMonitorTrigger',
				'whatsAppFrequencyCap',
				'whatsAppNumberValidation',
				'whatsAppTemplateSend',
			].map((name) => `${PACKAGE_NAME}.${name}`),
		);
		expect(await env.n8n.credentialTypeNames()).toEqual(
			expect.arrayContaining(['whatsAppCloudApi', 'whatsAppComplianceRedisApi']),
		);
	});

	it('tests the Cloud API credential against the sandbox through n8n', async () => {
		const ok = await env.n8n.request<{ status: string; message: string }>('POST', '/credentials/test', {
			credentials: {
				id: env.credentialId,
				name: 'WhatsApp Cloud API (sandbox)',
				type: 'whatsAppCloudApi',
				data: env.sandbox.credentials(),
			},
		});
		expect(ok.status).toBe('OK');
		const bad = await env.n8n.request<{ status: string; message: string }>('POST', '/credentials/test', {
			credentials: {
				id: env.credentialId,
				name: 'bad token',
				type: 'whatsAppCloudApi',
				data: { ...env.sandbox.credentials(), accessToken: 'wrong-token' },
			},
		});
		expect(bad.status).toBe('Error');
		expect(bad.message).toMatch(/190/);
		expect(bad.message).not.toContain('wrong-token');
	});

	it('imports every example workflow, with node types and versions this n8n knows', async () => {
		const files = (await readdir(path.join(REPO_ROOT, 'examples'))).filter((f) => f.endsWith('.json'));
		expect(files.length).toBeGreaterThanOrEqual(5);
		const known = new Map<string, number[]>();
		for (const type of await env.n8n.nodeTypes())
			known.set(type.name, [...(known.get(type.name) ?? []), ...[type.version].flat()]);
		for (const file of files) {
			const workflow = loadWorkflow(`examples/${file}`, env.credentialId) as {
				name: string;
				nodes: Array<{ type: string; typeVersion: number }>;
			};
			const unknown = workflow.nodes
				.filter((node) => !known.get(node.type)?.includes(node.typeVersion))
				.map((node) => `${node.type}@${node.typeVersion}`);
			expect({ file, unknown }).toEqual({ file, unknown: [] });
			const created = await env.n8n.createWorkflow({ ...workflow, name: `import check: ${workflow.name}` });
			const stored = await env.n8n.request<{ nodes: unknown[] }>('GET', `/workflows/${created.id}`);
			expect(stored.nodes).toHaveLength(workflow.nodes.length);
		}
	});
});

describe('a campaign through Number Validation → Consent Gate → Frequency Cap → Template Send', () => {
	const { all: messy, byKind } = messyList(10_000_000, {
		good: 399,
		invalid: 25,
		fixedLine: 10,
		duplicate: 20,
		noConsent: 20,
		stoppedEarlier: 1,
		notOnWhatsApp: 10,
		overCap: 15,
	});
	const { good, duplicates, stoppedEarlier, notOnWhatsApp } = { ...byKind, duplicates: byKind.duplicate };

	it('500 messy contacts: each ends in exactly one terminal state, the sandbox got exactly the due messages, the monitor agrees with it', async () => {
		expect(messy).toHaveLength(500);
		await env.prepareHistory(byKind, 'e2e');

		const outcome = await env.runCampaign('e2e-main', messy);
		expectSucceeded(outcome);
		expectOneTerminalStateEach(outcome, messy);
		const stateOf = (c: Contact) => outcome.states.get(c.contactId)![0];
		const expected: Record<string, string> = {
			good: 'sent',
			invalid: 'invalid',
			fixedLine: 'invalid',
			duplicate: 'invalid',
			noConsent: 'blocked',
			stoppedEarlier: 'blocked',
			notOnWhatsApp: 'invalid',
			overCap: 'deferred',
		};
		const wrong = messy
			.filter((c) => stateOf(c).state !== expected[c.kind])
			.map((c) => `${c.contactId}: ${stateOf(c).state} ${stateOf(c).reason}`);
		expect(wrong).toEqual([]);
		expect(duplicates.map((c) => stateOf(c).reason)).toEqual(duplicates.map(() => 'DUPLICATE'));
		expect(notOnWhatsApp.map((c) => stateOf(c).reason)).toEqual(notOnWhatsApp.map(() => 'NOT_ON_WHATSAPP'));
		expect(stateOf(stoppedEarlier[0]).reason).toMatch(/OPT/);

		// The sandbox received exactly one message for each good contact, and nothing else.
		const accepted = env.acceptedFor('e2e-main').map(digits).sort();
		expect(accepted).toEqual(good.map((c) => digits(e164Of(c)!)).sort());

		// The Delivery Monitor's counters (through Campaign Control's report) match the sandbox's statuses.
		await env.sandbox.flushWebhooks();
		const statuses = env.sandbox.statusLog.filter((s) => parseCallbackData(s.biz).campaignId === 'e2e-main');
		const count = (status: string) => statuses.filter((s) => s.status === status).length;
		const { report } = (await env.campaignControl('report e2e-main')) as { report: Record<string, number> };
		expect(report).toMatchObject({
			sent: good.length,
			delivered: count('delivered'),
			read: count('read'),
			deliveryFailed: count('failed'),
		});
		expect(count('delivered')).toBe(good.length);
	});

	it('a STOP reply injected through the sandbox blocks that contact in the next campaign', async () => {
		const stopper = good[42];
		env.sandbox.injectInboundText(e164Of(stopper)!, 'Stop');
		await env.sandbox.flushWebhooks();
		const next = [stopper, ...goodContacts(11_000_000, 5)];
		env.sandbox.resetLog();
		const outcome = await env.runCampaign('e2e-next', next);
		expectSucceeded(outcome);
		expectOneTerminalStateEach(outcome, next);
		expect(outcome.states.get(stopper.contactId)![0]).toMatchObject({ state: 'blocked' });
		expect(outcome.counts.sent).toBe(5);
		expect(env.acceptedFor('e2e-next').map(digits)).not.toContain(digits(e164Of(stopper)!));
	});

	it('a delivery-rate drop scripted in the sandbox pauses the campaign; Campaign Control resumes it', async () => {
		const contacts = goodContacts(12_000_000, 500);
		for (const c of contacts) env.sandbox.setOutcome(e164Of(c)!, { kind: 'failLater', code: 131000 });
		env.sandbox.resetLog();
		const first = await env.runCampaign('e2e-rate', contacts);
		expectSucceeded(first);
		expectOneTerminalStateEach(first, contacts);
		// The monitor paused after 100 final statuses; the rest of the run was held back.
		expect(first.byReason['notSent:PAUSED']).toBeGreaterThan(100);
		expect(first.counts.sent + first.byReason['notSent:PAUSED']).toBe(contacts.length);
		const pausedReport = (await env.campaignControl('report e2e-rate')) as { report: Record<string, number> };
		expect(pausedReport.report.deliveryRate).toBeLessThan(0.9);

		// The operator fixes the cause and resumes from Slack; the re-run sends the rest, once each.
		await env.sandbox.flushWebhooks();
		env.sandbox.clearOutcomes();
		const resumed = (await env.campaignControl('resume e2e-rate')) as { campaignControl: Record<string, unknown> };
		expect(resumed.campaignControl).toMatchObject({ operation: 'resume', scope: 'campaign', id: 'e2e-rate' });
		const second = await env.runCampaign('e2e-rate', contacts);
		expectSucceeded(second);
		expectOneTerminalStateEach(second, contacts);
		expect(second.byReason['notSent:PAUSED'] ?? 0).toBe(0);
		expect(second.counts.sent).toBe(first.byReason['notSent:PAUSED']);
		const accepted = env.acceptedFor('e2e-rate').map(digits);
		expect(new Set(accepted).size).toBe(accepted.length);
		expect(accepted.sort()).toEqual(contacts.map((c) => digits(e164Of(c)!)).sort());
	});
});

describe('one person, one contact, in real n8n', () => {
	it('username users (BSUID only) and Mexico/Brazil numbers Meta names by older wa_ids: counted right, and a STOP blocks exactly its sender', async () => {
		// BSUIDs in Meta's form (whatsapp-api-js's v25 examples); the wa_id forms of issue #17's measurements.
		const usernames = ['US.13491208655302741001', 'US.13491208655302741002', 'BR.1502576394651003'].map((bsuid, i) =>
			contact('good', 15_000_000 + i, bsuid),
		);
		const mexican = contact('good', 15_000_010, '+52 55 1234 0010', { country: 'MX' });
		const brazilian = contact('good', 15_000_011, '+55 31 99688 0011', { country: 'BR' });
		env.sandbox.setWaId('+525512340010', '5215512340010');
		env.sandbox.setWaId('+5531996880011', '553196880011');
		const french = goodContacts(15_000_020, 5);
		const contacts = [...usernames, mexican, brazilian, ...french];
		env.sandbox.resetLog();
		const first = await env.runCampaign('e2e-identity', contacts);
		expectSucceeded(first);
		expectOneTerminalStateEach(first, contacts);
		expect(first.counts.sent).toBe(contacts.length);
		// Template Send addressed the username users by BSUID (Meta's `recipient` field).
		const sentTo = env.sandbox.acceptedSends().map((r) => r.to);
		expect(sentTo).toEqual(expect.arrayContaining(usernames.map((c) => c.phone)));
		await env.sandbox.flushWebhooks();
		const statuses = env.sandbox.statusLog.filter((s) => parseCallbackData(s.biz).campaignId === 'e2e-identity');
		const count = (status: string) => statuses.filter((s) => s.status === status).length;
		const { report } = (await env.campaignControl('report e2e-identity')) as { report: Record<string, number> };
		expect(report).toMatchObject({ sent: contacts.length, delivered: count('delivered'), read: count('read') });
		expect(count('delivered')).toBe(contacts.length);

		// A username user's STOP (no number in it) and a STOP from Mexico's old 521 wa_id.
		env.sandbox.injectUsernameText(usernames[0].phone, 'STOP');
		env.sandbox.injectInboundText('5215512340010', 'STOP');
		await env.sandbox.flushWebhooks();
		const next = await env.runCampaign('e2e-identity-next', contacts);
		expectSucceeded(next);
		const blocked = contacts.filter((c) => next.states.get(c.contactId)![0].state === 'blocked');
		expect(blocked.map((c) => c.contactId).sort()).toEqual([usernames[0].contactId, mexican.contactId].sort());
		for (const c of blocked) expect(next.states.get(c.contactId)![0].reason).toBe('OPTED_OUT');
	});
});

describe('the Delivery Monitor on its own port', () => {
	it('closes the loop outside n8n’s webhook layer: statuses counted, a STOP and a 131050 honoured, only events start executions', async () => {
		const url = await env.addOwnPortMonitor();
		const throughN8n = env.sandbox.webhook!.url;
		env.sandbox.webhook!.url = url;
		try {
			const contacts = goodContacts(14_000_000, 300);
			const [stopper, unreachable] = contacts;
			// Not in the first campaign, so no minimum gap holds it back.
			const [other] = goodContacts(14_100_000, 1);
			env.sandbox.setOutcome(e164Of(unreachable)!, { kind: 'failLater', code: 131050 });
			env.sandbox.resetLog();
			const first = await env.runCampaign('e2e-own-port', contacts);
			expectSucceeded(first);
			expect(first.counts.sent).toBe(300);
			env.sandbox.injectInboundText(e164Of(stopper)!, 'STOP');
			await env.sandbox.flushWebhooks();
			expect(env.sandbox.counters.webhookFailures).toBe(0);

			const { report } = (await env.campaignControl('report e2e-own-port')) as { report: Record<string, number> };
			expect(report).toMatchObject({ sent: 300, delivered: 299, read: 299, deliveryFailed: 1, optOuts: 1 });
			// Routine statuses started nothing; the STOP and the failure each started one execution.
			// The trigger answers before n8n has run and saved the executions it started: wait for both.
			const executions = await env.finishedExecutions(new Set(), 2, 'ownPort');
			const emitted = await Promise.all(executions.map((e) => env.n8n.executionOutputs(e.id)));
			const items = emitted.map((outputs) => outputs['WhatsApp Delivery Monitor'] ?? []);
			expect(items.flatMap((o) => o[0] ?? []).map((i) => i.json)).toEqual([
				expect.objectContaining({ status: 'failed', campaignId: 'e2e-own-port' }),
			]);
			expect(items.flatMap((o) => o[2] ?? []).map((i) => i.json)).toEqual([
				expect.objectContaining({ kind: 'opt_out', campaignId: 'e2e-own-port' }),
			]);

			env.sandbox.clearOutcomes();
			env.sandbox.resetLog();
			const next = await env.runCampaign('e2e-own-port-next', [stopper, unreachable, other]);
			expectSucceeded(next);
			expect(next.states.get(stopper.contactId)![0]).toMatchObject({ state: 'blocked', reason: 'OPTED_OUT' });
			expect(next.states.get(unreachable.contactId)![0]).toMatchObject({ state: 'blocked' });
			expect(next.states.get(other.contactId)![0]).toMatchObject({ state: 'sent' });
			expect(env.acceptedFor('e2e-own-port-next').map(digits)).toEqual([digits(e164Of(other)!)]);
		} finally {
			env.sandbox.webhook!.url = throughN8n;
		}
	});
});

describe('crashes and restarts', () => {
	it('SIGKILL in the middle of a 2,000-message campaign, then a re-run: nobody twice, everyone once', async () => {
		// The same campaign workflow with Frequency Cap reservations held 1 minute instead of 15: the
		// killed run's reservations for people it never reached must lapse before the re-run can reach them.
		const workflow = loadWorkflow(WORKFLOWS.campaign, env.credentialId) as { nodes: WorkflowNode[] };
		const trigger = workflow.nodes.find((n) => n.name === 'Campaign Request')!;
		trigger.parameters.path = trigger.webhookId = 'whatsapp-campaign-crash';
		Object.assign(workflow.nodes.find((n) => n.name === 'Frequency Cap')!.parameters.options as object, {
			reservationMinutes: 1,
		});
		await env.addWorkflow('crash', { ...workflow, name: 'campaign (crash test)' });

		const contacts = goodContacts(13_000_000, 2000);
		env.sandbox.resetLog();
		const startedAt = Date.now();
		// The request dies with n8n; only the sandbox's log says how far it got.
		let answered: unknown;
		const cut = env.n8n.postWebhook(env.webhookPaths.crash, { campaignId: 'e2e-kill', contacts }).then(
			(response) => (answered = response),
			() => undefined,
		);
		while (env.acceptedFor('e2e-kill').length < 800) {
			if (answered) throw new Error(`the campaign ended before the kill: ${JSON.stringify(answered).slice(0, 500)}`);
			await sleep(20);
		}
		await env.n8n.kill();
		await cut;

		await env.n8n.restart();
		// Statuses Meta could not deliver while n8n was down arrive now (the sandbox retries, as Meta does).
		await env.sandbox.flushWebhooks();
		expect(env.sandbox.counters.webhookRetries).toBeGreaterThan(0);
		// Taken only now: a request on the wire at the kill may be logged by the sandbox after it.
		const reachedBeforeKill = new Set(env.acceptedFor('e2e-kill').map(digits));
		expect(reachedBeforeKill.size).toBeLessThan(2000);
		await sleep(Math.max(0, startedAt + 62_000 - Date.now()));
		const rerun = await env.runCampaign('e2e-kill', contacts, 'crash');
		expectSucceeded(rerun);
		expectOneTerminalStateEach(rerun, contacts);
		// Reached before the crash: held by the cap's minimum gap (confirmed sends) or recognised by
		// Template Send (sends the crash kept from being confirmed). Everyone else: sent now.
		const heldBack = contacts.filter((c) =>
			['deferred:MIN_GAP', 'notSent:ALREADY_SENT'].includes(
				`${rerun.states.get(c.contactId)![0].state}:${rerun.states.get(c.contactId)![0].reason}`,
			),
		);
		// A request the kill cut on the wire never reached Meta, but its claim is in the store: the re-run
		// does not guess, it reports the recipient as in flight / in doubt (at most one per connection).
		const cutOnTheWire = heldBack.filter((c) => !reachedBeforeKill.has(digits(e164Of(c)!)));
		expect(cutOnTheWire.length).toBeLessThanOrEqual(10);
		for (const c of cutOnTheWire)
			expect(rerun.states.get(c.contactId)![0]).toMatchObject({
				state: 'notSent',
				reason: 'ALREADY_SENT',
				result: { detail: expect.stringMatching(/in flight|got no answer/) },
			});
		expect({ ...rerun.byReason, reached: heldBack.length - cutOnTheWire.length }).toMatchObject({
			reached: reachedBeforeKill.size,
			'sent:sent': contacts.length - heldBack.length,
		});

		const accepted = env.acceptedFor('e2e-kill').map(digits);
		const twice = accepted.filter((to, i) => accepted.indexOf(to) !== i);
		expect(twice).toEqual([]);
		expect([...accepted, ...cutOnTheWire.map((c) => digits(e164Of(c)!))].sort()).toEqual(
			contacts.map((c) => digits(e164Of(c)!)).sort(),
		);
	});

	it('workflows and campaign state survive an n8n restart', async () => {
		await env.n8n.restart();
		// Still active: the monitor takes a STOP, the campaign webhook runs, and the store remembers.
		const contacts = goodContacts(10_000_000, 30);
		env.sandbox.injectInboundText(mobileE164(10_000_001), 'STOP');
		await env.sandbox.flushWebhooks();
		env.sandbox.resetLog();
		const outcome = await env.runCampaign('e2e-main', contacts);
		expectSucceeded(outcome);
		expect(outcome.states.get(contacts[1].contactId)![0]).toMatchObject({ state: 'blocked' });
		// Reached in e2e-main already: the cap's minimum gap between marketing messages holds them.
		expect(outcome.byReason).toEqual({ 'blocked:OPTED_OUT': 1, 'deferred:MIN_GAP': 29 });
		expect(env.sandbox.acceptedSends()).toHaveLength(0);
	});
});
