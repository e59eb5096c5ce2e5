import type { IAuthenticateGeneric, ICredentialType, INodeProperties } from 'n8n-workflow';

import { DEFAULT_GRAPH_API_VERSION } from '../nodes/transport/graphApiVersion';

/**
 * The WhatsApp Business Cloud API: where to send (phone number ID, WABA ID), with what token, and
 * the secrets the Delivery Monitor needs to accept Meta's webhooks.
 *
 * There is no declarative `test` here on purpose: n8n would then show only the HTTP status text
 * ("Bad Request"). Nodes using this credential declare `testedBy: 'whatsAppCloudApiTest'`, which asks
 * for the phone number and shows Meta's own error message.
 */
export class WhatsAppCloudApi implements ICredentialType {
	name = 'whatsAppCloudApi';

	displayName = 'WhatsApp Cloud API';

	icon = 'file:whatsapp.svg' as const;

	documentationUrl = 'https://developers.facebook.com/docs/whatsapp/cloud-api/get-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'A permanent System User access token with whatsapp_business_messaging and whatsapp_business_management permissions',
		},
		{
			displayName: 'Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '106540352242922',
			description:
				'The ID of the business phone number that sends, from WhatsApp Manager → API Setup (not the phone number itself)',
		},
		{
			displayName: 'WhatsApp Business Account ID',
			name: 'businessAccountId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '102290129340398',
			description: 'The WABA ID that owns the message templates',
		},
		{
			displayName: 'Graph API Version',
			name: 'apiVersion',
			type: 'string',
			default: DEFAULT_GRAPH_API_VERSION,
			description: 'Meta keeps each version about two years; v24.0, v25.0 and v26.0 are current',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://graph.facebook.com',
			description: 'Change only to use a provider’s proxy or the local Cloud API sandbox',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The Meta app’s secret: the Delivery Monitor checks the X-Hub-Signature-256 of every webhook with it',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Any string you choose; enter the same one in the Meta app’s webhook set-up',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.accessToken}}',
			},
		},
	};
}
