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
