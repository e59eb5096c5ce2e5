/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The editor as an operator sees it: Debian's Chromium, driven by playwright-core, logs into the test
 * n8n, opens the campaign workflow and searches the node panel for "WhatsApp". Screenshots go to
 * test/e2e/artifacts/ (the README's picture of the campaign workflow is one of them).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';

import { CampaignEnvironment } from './environment.ts';
import { OWNER, PACKAGE_NAME, REPO_ROOT } from './n8nInstance.ts';

jest.setTimeout(20 * 60_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test', 'e2e', 'artifacts');
const OUR_NODES = [
	'WhatsApp Number Validation',
	'WhatsApp Consent Gate',
	'WhatsApp Frequency Cap',
	'WhatsApp Template Send',
	'WhatsApp Delivery Monitor Trigger',
	'WhatsApp Delivery Monitor (Own Port) Trigger',
	'WhatsApp Campaign Control',
];

let env: CampaignEnvironment;
let browser: Browser;
let page: Page;

beforeAll(async () => {
	if (!existsSync(CHROMIUM))
		throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
	await mkdir(ARTIFACTS, { recursive: true });
	env = await CampaignEnvironment.start({ log: (line) => process.stderr.write(`[editor] ${line}\n`) });
	await env.provision({
		campaign: 'examples/webhook-campaign.json',
		monitor: 'test/e2e/workflows/delivery-monitor.json',
	});
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		// Root in a container, no GPU, and a closed network: Chromium must not phone home.
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
}, 20 * 60_000);

afterAll(async () => {
	await browser?.close();
	await env?.close();
});

/** Each image's URL and whether the browser could decode it (naturalWidth > 0). */
async function images(selector: string) {
	return await page.$$eval(selector, (elements) =>
		elements.map((element) => {
			const image = element.querySelector('img');
			return {
				text: (element.textContent ?? '').trim(),
				name: element.getAttribute('data-node-name'),
				src: image?.getAttribute('src') ?? null,
				rendered: image ? image.complete && image.naturalWidth > 0 : false,
			};
		}),
	);
}

it('logs in, opens the campaign workflow and shows our nodes with their icons', async () => {
	await page.goto(`${env.n8n.baseUrl}/signin`);
	await page.fill('input[name=emailOrLdapLoginId]', OWNER.email);
	await page.fill('input[name=password]', OWNER.password);
	await page.click('[data-test-id=form-submit-button]');
	await page.waitForURL(/\/home/, { timeout: 30_000 });

	await page.goto(`${env.n8n.baseUrl}/workflow/${env.workflowIds.campaign}`);
	await page.waitForSelector('[data-test-id=canvas-node]', { timeout: 30_000 });
	// n8n's "Production Checklist" pops up over the canvas on published workflows.
	await page
		.getByText('Production Checklist')
		.locator('xpath=ancestor::*[.//button][1]//button')
		.first()
		.click({ timeout: 2_000 })
		.catch(() => undefined);
	await page.click('[data-test-id=zoom-to-fit]');
	await page.waitForFunction(() =>
		[...document.querySelectorAll('[data-test-id=canvas-node] img')].every((img) => (img as HTMLImageElement).complete),
	);
	await page.screenshot({ path: path.join(ARTIFACTS, 'campaign-workflow.png') });

	const canvas = await images('[data-test-id=canvas-node]');
	const ours = canvas.filter((node) => node.src?.includes(`/icons/${PACKAGE_NAME}/`));
	expect(ours.map((node) => node.name)).toEqual([
		'Number Validation',
		'Consent Gate',
		'Frequency Cap',
		'Template Send',
	]);
	expect(ours.filter((node) => !node.rendered)).toEqual([]);
});

it('finds all seven nodes by searching the node panel for "WhatsApp", each with its own icon', async () => {
	await page.click('[data-test-id=node-creator-plus-button]');
	await page.waitForSelector('[data-test-id=node-creator-search-bar]');
	await page.keyboard.type('WhatsApp');
	await page.waitForFunction(
		(names) => {
			const texts = [...document.querySelectorAll('[data-test-id=item-iterator-item]')].map((e) => e.textContent ?? '');
			return names.every((name) => texts.some((text) => text.trim().startsWith(name)));
		},
		OUR_NODES,
		{ timeout: 15_000 },
	);
	// Let the panel finish sliding in before the screenshot.
	await page.waitForTimeout(500);
	await page.waitForFunction(() =>
		[...document.querySelectorAll('[data-test-id=item-iterator-item] img')].every(
			(img) => (img as HTMLImageElement).complete,
		),
	);
	await page.screenshot({ path: path.join(ARTIFACTS, 'node-panel-whatsapp.png') });

	const items = await images('[data-test-id=item-iterator-item]');
	for (const name of OUR_NODES) {
		const item = items.find((i) => i.text.startsWith(name));
		expect({ name, src: item?.src, rendered: item?.rendered }).toEqual({
			name,
			src: expect.stringContaining(`/icons/${PACKAGE_NAME}/dist/nodes/`),
			rendered: true,
		});
	}
	// n8n's own WhatsApp node is there too: ours sit beside it, not instead of it.
	expect(items.some((i) => i.text.startsWith('WhatsApp Business Cloud'))).toBe(true);
	expect(new Set(items.filter((i) => i.src?.includes(PACKAGE_NAME)).map((i) => i.src)).size).toBe(OUR_NODES.length);
});
