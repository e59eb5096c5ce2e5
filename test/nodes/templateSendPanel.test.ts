import type { ILoadOptionsFunctions } from 'n8n-workflow';

import { WhatsAppTemplateSend } from '../../nodes/WhatsAppTemplateSend/WhatsAppTemplateSend.node';
import { CloudApiSandbox } from '../sandbox/server.ts';

let sandbox: CloudApiSandbox;
beforeAll(async () => {
	sandbox = await CloudApiSandbox.start();
});
afterAll(async () => {
	await sandbox.close();
});

/** What the editor hands the node's load methods: the credential and the current parameters. */
function panel(template: string, credentials = sandbox.credentials()) {
	return {
		getCredentials: async () => credentials,
		getNodeParameter: (name: string) => (name === 'template' ? template : undefined),
	} as unknown as ILoadOptionsFunctions;
}

describe('WhatsApp Template Send in the editor', () => {
	const node = new WhatsAppTemplateSend();

	test('the template picker lists approved templates only, searchable by name', async () => {
		const all = await node.methods.listSearch.searchTemplates.call(panel(''));
		expect(all.results.map((r) => r.value)).toEqual([
			'spring_sale:fr',
			'order_update:en_US',
			'hello_world:en_US',
			'weekly_promo:en_US',
			'limited_time_offer_caribbean_pkg_2023:en_US',
			'carousel_template_media_cards_v1:en_US',
			'intro_catalog_offer:en_US',
			'order_delivery_update:en_US',
			'verification_code:en_US',
			'abandoned_cart_offer:en_US',
			'abandoned_cart:en_US',
			'example_flow_template:en_US',
		]);
		expect(all.results[0].name).toBe('spring_sale (fr, marketing)');
		const found = await node.methods.listSearch.searchTemplates.call(panel(''), 'ORDER_UP');
		expect(found.results.map((r) => r.value)).toEqual(['order_update:en_US']);
	});

	test('the variables panel shows the chosen template’s own variables as fields to map', async () => {
		const { fields } = await node.methods.resourceMapping.getTemplateVariables.call(panel('spring_sale:fr'));
		const shown = fields.filter((f) => !f.removed);
		expect(shown.map((f) => [f.id, f.displayName, f.required])).toEqual([
			['header.media', 'Header Image URL or Media ID', true],
			['body.1', 'Body {{1}}', true],
			['body.2', 'Body {{2}}', true],
			['body.3', 'Body {{3}}', true],
			['button.0.payload', 'Button 1 “Stop promotions” Payload', false],
			['button.1.url', 'Button 2 “Voir la commande” URL Suffix', true],
		]);
		// Each body variable can be sent as Meta's currency or date_time: its fields are hidden until the
		// operator adds them, and typed for the editor.
		const hidden = fields.filter((f) => f.removed);
		expect(hidden.filter((f) => f.id.startsWith('body.2.')).map((f) => [f.id, f.displayName, f.type])).toEqual([
			['body.2.currency_code', 'Body {{2}} as Currency: Code (ISO 4217)', 'string'],
			['body.2.amount_1000', 'Body {{2}} as Currency: Amount × 1000', 'number'],
			['body.2.date_time', 'Body {{2}} as Date/Time', 'boolean'],
		]);
		expect(hidden).toHaveLength(9);
		expect(hidden.every((f) => !f.required)).toBe(true);
		expect(await node.methods.resourceMapping.getTemplateVariables.call(panel(''))).toEqual({
			fields: [],
			emptyFieldsNotice: 'Choose a template first',
		});
		expect(
			(await node.methods.resourceMapping.getTemplateVariables.call(panel('legacy_offer:en_US'))).emptyFieldsNotice,
		).toBe('No approved template legacy_offer in en_US');
	});
});
