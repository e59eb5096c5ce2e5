/**
 * `npm run demo`: a real n8n with this package, the example workflows and a local WhatsApp Cloud API,
 * a demo campaign of 300 contacts through Number Validation → Consent Gate → Frequency Cap →
 * Template Send, a summary, and the editor left running until Ctrl-C. No Meta account needed.
 */
import { createServer } from 'node:net';
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { e164Of, messyList } from '../test/e2e/contacts.ts';
import { CampaignEnvironment, loadWorkflow } from '../test/e2e/environment.ts';
import { OWNER, REPO_ROOT } from '../test/e2e/n8nInstance.ts';

const CAMPAIGN_ID = 'demo-weekly-promo';

const log = (line: string) => console.log(line);

/** n8n's usual port when it is free, so the editor URL is the familiar one. */
async function preferredPort(port: number): Promise<number | undefined> {
	return await new Promise((resolve) => {
		const server = createServer();
		server.once('error', () => resolve(undefined));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(port)));
	});
}

async function main() {
	const started = Date.now();
	log('WhatsApp compliance demo: real n8n, local Cloud API sandbox, no Meta account.\n');
	const env = await CampaignEnvironment.start({
		log,
		n8nPort: await preferredPort(5678),
		sandbox: { latencyMs: 120, jitterMs: 60 },
	});
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		log('\nStopping n8n and the sandbox…');
		await env.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());

	log('Creating the credential and importing the workflows through n8n’s API…');
	await env.provision({
		campaign: 'examples/webhook-campaign.json',
		monitor: 'test/e2e/workflows/delivery-monitor.json',
		control: 'examples/campaign-control-slack.json',
	});
	// The other examples (HubSpot, Google Sheets, Slack…) are imported inactive, to look at and adapt.
	for (const file of readdirSync(path.join(REPO_ROOT, 'examples')).sort()) {
		if (['webhook-campaign.json', 'campaign-control-slack.json'].includes(file)) continue;
		await env.n8n.createWorkflow(loadWorkflow(`examples/${file}`, env.credentialId));
	}

	const { all: contacts, byKind } = messyList(20_000_000, {
		good: 240,
		invalid: 15,
		fixedLine: 5,
		duplicate: 10,
		noConsent: 15,
		stoppedEarlier: 1,
		notOnWhatsApp: 6,
		overCap: 8,
	});
	log('Giving the list some history (earlier campaigns, a STOP reply, numbers that bounced)…');
	await env.prepareHistory(byKind, 'demo');
	// A few good-looking numbers whose messages Meta accepts but cannot deliver.
	for (const c of byKind.good.slice(-4)) env.sandbox.setOutcome(e164Of(c)!, { kind: 'failLater', code: 131049 });

	log(`Running the campaign "${CAMPAIGN_ID}" on ${contacts.length} contacts at 80 messages/s…`);
	const outcome = await env.runCampaign(CAMPAIGN_ID, contacts);
	await env.sandbox.flushWebhooks();
	const { report } = (await env.campaignControl(`report ${CAMPAIGN_ID}`)) as {
		report: Record<string, number | null>;
	};

	const reasons = (state: string) =>
		Object.entries(outcome.byReason)
			.filter(([key]) => key.startsWith(`${state}:`))
			.map(([key, count]) => `${key.slice(state.length + 1)} ${count}`)
			.join(', ') || '-';
	const rate = (value: number | null) => (value === null ? '-' : `${Math.round(value * 1000) / 10} %`);
	log(`
Campaign ${CAMPAIGN_ID}: ${contacts.length} contacts, execution ${outcome.executionId} (${outcome.status})
  sent                 ${outcome.counts.sent}
  invalid numbers      ${outcome.counts.invalid}   (${reasons('invalid')})
  blocked (consent)    ${outcome.counts.blocked}   (${reasons('blocked')})
  deferred (caps)      ${outcome.counts.deferred}   (${reasons('deferred')})
  failed               ${outcome.counts.failed}   (${reasons('failed')})
  not sent             ${outcome.counts.notSent}   (${reasons('notSent')})
  delivered            ${report.delivered} (delivery rate ${rate(report.deliveryRate)}), read ${report.read}, delivery failed ${report.deliveryFailed}

n8n editor:  ${env.n8n.baseUrl}   login ${OWNER.email} / ${OWNER.password}
             workflows: "WhatsApp campaign (webhook)", the Delivery Monitor, Campaign Control and the CRM examples
Campaign:    curl -X POST ${env.n8n.baseUrl}/webhook/whatsapp-campaign -H 'content-type: application/json' \\
               -d '{"campaignId":"my-campaign","contacts":[{"contactId":"1","phone":"06 12 34 56 78","country":"FR","firstName":"Ana","optIn":true}]}'
             answers with the run's summary: {"campaignId","contacts","byOutcome":{"sent":…},"byReason":{"invalid:TOO_SHORT":…}}
Control:     curl -X POST ${env.n8n.baseUrl}/webhook/whatsapp-campaign-control -H 'content-type: application/json' -d '{"text":"report ${CAMPAIGN_ID}"}'
Sandbox:     ${env.sandbox.baseUrl} (the Cloud API the credential points at)

Ready in ${Math.round((Date.now() - started) / 1000)} s. Ctrl-C to stop.`);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
