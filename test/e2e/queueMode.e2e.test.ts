/**
 * n8n in queue mode, as self-hosters scale it (issue #22): PostgreSQL, Bull on redis-server, the main
 * process, two `n8n worker` processes at concurrency 5 and one `n8n webhook` process, all with this
 * package installed in the shared user folder and its nodes on the Redis store. Four campaigns posted
 * at once to the webhook process run on the workers, the sandbox's statuses go to the Delivery Monitor
 * behind the webhook process, and the sandbox is the ground truth: exactly one message per due
 * contact, every contact in exactly one terminal output, the report as the sandbox saw it.
 */
import { parseCallbackData } from '../../nodes/core/callbackData';
import { goodContacts, e164Of, type Contact } from './contacts.ts';
import { CampaignEnvironment } from './environment.ts';

let env: CampaignEnvironment;
const digits = (e164: string) => e164.replace(/\D/g, '');

beforeAll(async () => {
	env = await CampaignEnvironment.start({
		log: (line) => process.stderr.write(`[queue] ${line}\n`),
		queueMode: { workers: 2, concurrency: 5 },
	});
	await env.provision({
		campaign: 'examples/webhook-campaign.json',
		monitor: 'test/e2e/workflows/delivery-monitor.json',
		control: 'examples/campaign-control-slack.json',
	});
}, 20 * 60_000);

afterAll(async () => {
	await env?.close();
});

test('four campaigns at once over two workers: each due contact gets exactly one message, every contact ends in one terminal output, the report agrees with the sandbox', async () => {
	const campaigns = ['queue-a', 'queue-b', 'queue-c', 'queue-d'].map((id, i) => ({
		id,
		contacts: goodContacts(700_000 + i * 1_000, 250).map((c) => ({ ...c, contactId: `${id}-${c.contactId}` })),
	}));
	const before = await env.executionIds('campaign');
	// Posted together to the webhook process; it answers each when its execution, on a worker, is done.
	const answers = await Promise.all(
		campaigns.map((c) =>
			env.webhooks.postWebhook(env.webhookPaths.campaign, { campaignId: c.id, contacts: c.contacts }),
		),
	);
	expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
	// Each answer is its run's summary (what an operator's curl shows): counts by outcome and reason.
	expect(answers.map((a) => a.body)).toEqual(
		campaigns.map((c) => ({ campaignId: c.id, contacts: 250, byOutcome: { sent: 250 }, byReason: {} })),
	);

	// Both workers ran executions (Bull hands jobs to whichever worker is free).
	for (const worker of env.queue!.workers) expect(worker.output).toMatch(/started execution/i);

	const executions = await env.finishedExecutions(before, 4);
	expect(executions).toHaveLength(4);
	expect(executions.map((e) => e.status)).toEqual(['success', 'success', 'success', 'success']);
	const outcomes = await Promise.all(executions.map((e) => env.executionOutcome(e)));
	const all: Contact[] = campaigns.flatMap((c) => c.contacts);
	// Every contact of every campaign ends in exactly one terminal output, and that is Sent.
	const states = new Map(outcomes.flatMap((o) => [...o.states]));
	const lost = all.filter((c) => !states.has(c.contactId)).map((c) => c.contactId);
	const twice = [...states].filter(([, s]) => s.length !== 1).map(([id]) => id);
	expect({ lost, twice }).toEqual({ lost: [], twice: [] });
	expect([...states.values()].filter(([s]) => s.state !== 'sent').map(([s]) => `${s.state} ${s.reason}`)).toEqual([]);

	// Meta's side: exactly one message per contact, attributed to its own campaign.
	const accepted = env.sandbox.acceptedSends();
	const perRecipient = new Map<string, number>();
	for (const r of accepted) perRecipient.set(digits(r.to!), (perRecipient.get(digits(r.to!)) ?? 0) + 1);
	expect([...perRecipient].filter(([, n]) => n > 1)).toEqual([]);
	for (const c of campaigns)
		expect(env.acceptedFor(c.id).map(digits).sort()).toEqual(c.contacts.map((x) => digits(e164Of(x)!)).sort());

	// The statuses reach the Delivery Monitor behind the webhook process; the reports match the sandbox.
	await env.sandbox.flushWebhooks();
	for (const c of campaigns) {
		const statuses = env.sandbox.statusLog.filter((s) => parseCallbackData(s.biz).campaignId === c.id);
		const count = (status: string) => statuses.filter((s) => s.status === status).length;
		const { report } = (await env.campaignControl(`report ${c.id}`)) as { report: Record<string, number> };
		expect(report).toMatchObject({
			sent: c.contacts.length,
			delivered: count('delivered'),
			read: count('read'),
			deliveryFailed: count('failed'),
		});
		expect(count('delivered')).toBe(c.contacts.length);
	}
});

test('a worker killed (SIGKILL) mid-campaign and restarted: nobody twice; held only by the dead execution’s reservations (RESERVED, never MIN_GAP) until its lease lapses, then the re-run reaches them', async () => {
	const queue = env.queue!;
	const contacts = goodContacts(760_000, 800).map((c) => ({ ...c, contactId: `kill-${c.contactId}` }));
	const outputBefore = queue.workers.map((w) => w.output.length);
	// The request dies with the worker's execution; only the sandbox's log says how far it got.
	let answered = false;
	void env.webhooks
		.postWebhook(env.webhookPaths.campaign, { campaignId: 'queue-kill', contacts })
		.then(() => (answered = true))
		.catch(() => undefined);
	while (env.acceptedFor('queue-kill').length < 200) {
		if (answered) throw new Error('the campaign ended before the kill');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	// The worker running it (Bull gave the job to whichever was free).
	const victim = queue.workers.find((w, i) => /started execution/i.test(w.output.slice(outputBefore[i])))!;
	expect(victim).toBeDefined();
	await victim.kill();
	const killedAt = Date.now();
	await victim.restart();
	// Taken only now: a request on the wire at the kill may be logged by the sandbox after it.
	const reachedBeforeKill = new Set(env.acceptedFor('queue-kill').map(digits));
	expect(reachedBeforeKill.size).toBeLessThan(contacts.length);

	// Re-run at once: whoever the dead execution reached is held back (cap's minimum gap, or Template
	// Send's send log); whoever it never reached is held only by its unconfirmed reservations, and is
	// told so (RESERVED, until its lease lapses), never MIN_GAP.
	const early = await env.runCampaign('queue-kill', contacts);
	const stateOf = (o: typeof early, c: (typeof contacts)[number]) =>
		`${o.states.get(c.contactId)![0].state}:${o.states.get(c.contactId)![0].reason}`;
	const never = contacts.filter((c) => !reachedBeforeKill.has(digits(e164Of(c)!)));
	const earlyStates = never.map((c) => stateOf(early, c));
	process.stderr.write(
		`[queue] re-run ${Math.round((Date.now() - killedAt) / 1000)} s after the kill: ${JSON.stringify(early.byReason)}\n`,
	);
	// Before the lease lapses RESERVED; after it, sent; a request cut on the wire, in flight. Never MIN_GAP.
	expect(earlyStates.filter((s) => !['deferred:RESERVED', 'sent:sent', 'notSent:ALREADY_SENT'].includes(s))).toEqual(
		[],
	);
	// Once the dead worker's lease has lapsed (30 s), a re-run reaches everyone it never messaged.
	await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 32_000 - Date.now())));
	const late = await env.runCampaign('queue-kill', contacts);
	for (const outcome of [early, late]) {
		const lost = contacts.filter((c) => outcome.states.get(c.contactId)?.length !== 1).map((c) => c.contactId);
		expect(lost).toEqual([]);
	}
	// A request the kill cut on the wire never reached Meta, but its claim is in the store: reported as in
	// flight, never guessed (at most one per connection).
	const cutOnTheWire = never.filter((c) => stateOf(late, c) === 'notSent:ALREADY_SENT');
	expect(cutOnTheWire.length).toBeLessThanOrEqual(10);
	const accepted = env.acceptedFor('queue-kill').map(digits);
	expect(accepted.filter((to, i) => accepted.indexOf(to) !== i)).toEqual([]);
	expect([...accepted, ...cutOnTheWire.map((c) => digits(e164Of(c)!))].sort()).toEqual(
		contacts.map((c) => digits(e164Of(c)!)).sort(),
	);
});
