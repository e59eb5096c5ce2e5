import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The Redis server that holds the compliance store when n8n runs in queue mode (several workers): the
 * consent ledger, caps and send log must be shared by every worker. Tested by the nodes' credential
 * test `whatsAppComplianceRedisTest`, which connects and pings.
 */
export class WhatsAppComplianceRedisApi implements ICredentialType {
	name = 'whatsAppComplianceRedisApi';

	displayName = 'WhatsApp Compliance Redis';

	icon = 'file:whatsapp.svg' as const;

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-whatsapp-compliance#stores';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 6379, required: true },
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			description: 'Only for Redis ACL users; leave empty for the default user',
		},
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'Database Number', name: 'database', type: 'number', default: 0 },
		{ displayName: 'SSL/TLS', name: 'tls', type: 'boolean', default: false },
		{
			displayName: 'Key Prefix',
			name: 'prefix',
			type: 'string',
			default: 'wac:',
			description: 'Every key the store writes starts with this, so several n8n instances can share one Redis',
		},
		{
			displayName: 'Contact Key Secret',
			name: 'contactKeySecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			hint: 'Generate one with: openssl rand -hex 32',
			description:
				'Numbers and BSUIDs are stored only as keyed hashes made with this secret. n8n keeps it encrypted and it is never written to Redis, so a Redis dump alone does not reveal who is in it. Use the same value in every n8n that shares the store. A store created before this field existed keeps its secret in Redis (key &lt;prefix&gt;secret) until you copy that value here.',
		},
	];
}
