import Redis from 'ioredis';
import {
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeProperties,
	type ITriggerFunctions,
	type IWebhookFunctions,
} from 'n8n-workflow';

import { openStore, type StoreConfig } from './openStore';
import { describeSystemError } from './errors';
import { secretProblem, selectDatabase } from './redis/client';
import type { RedisConnection } from './RedisStore';
import { StoreUnavailableError, type ComplianceStore } from './types';

/** The Store parameter every stateful node shows, first in its panel. */
export const storeProperty: INodeProperties = {
	displayName: 'Store',
	name: 'store',
	type: 'options',
	options: [
		{
			name: 'Built-in (This N8n Instance)',
			value: 'builtIn',
			description: 'A file in the n8n user folder; no set-up. For n8n running as a single instance.',
		},
		{
			name: 'Redis (Several N8n Workers)',
			value: 'redis',
			description: 'For n8n in queue mode: every worker must see the same consent, caps and send history',
		},
	],
	default: 'builtIn',
	description:
		'Where consent, caps and send history are kept. Every WhatsApp compliance node of a campaign, and its Delivery Monitor, must use the same store.',
};

function redisConnection(data: Record<string, unknown>): RedisConnection {
	return {
		host: String(data.host ?? 'localhost'),
		port: Number(data.port ?? 6379),
		username: (data.username as string) || undefined,
		password: (data.password as string) || undefined,
		database: Number(data.database ?? 0),
		tls: data.tls === true,
		keyPrefix: (data.prefix as string) || 'wac:',
		contactKeySecret: (data.contactKeySecret as string) || undefined,
	};
}

/**
 * The store the node's Store parameter points at, opened once per process. A store that cannot be
 * opened stops the node with a message naming the file or host: nothing is decided, let alone sent,
 * without the state (fail closed).
 */
export async function getComplianceStore(
	context: IExecuteFunctions | IWebhookFunctions | ITriggerFunctions,
): Promise<ComplianceStore> {
	// Execute contexts take an item index; webhook and trigger contexts do not.
	const choice = (
		'getInputData' in context
			? context.getNodeParameter('store', 0, 'builtIn')
			: context.getNodeParameter('store', 'builtIn')
	) as string;
	let config: StoreConfig;
	if (choice === 'redis') {
		const credentials = await context.getCredentials('whatsAppComplianceRedisApi');
		config = { kind: 'redis', connection: redisConnection(credentials) };
	} else {
		const refusal = builtInStoreRefusal(process.env);
		if (refusal)
			throw new NodeOperationError(context.getNode(), refusal, {
				description:
					'In queue mode every worker must see the same consent, caps and send log: choose the Redis store in each WhatsApp compliance node. If every worker really opens one shared file (one host), set WHATSAPP_COMPLIANCE_DB_SHARED=true.',
			});
		config = { kind: 'sqlite' };
	}
	try {
		const store = await openStore(config);
		// Fail closed at the start of the execution, with the host named, rather than half-way through.
		await store.check();
		return store;
	} catch (error) {
		throw new NodeOperationError(context.getNode(), (error as Error).message, {
			description:
				choice === 'redis'
					? 'Check the WhatsApp Compliance Redis credential and that the Redis server is running and reachable from every n8n worker.'
					: 'The built-in store is a file in the n8n user folder. Check that n8n can write there (or set WHATSAPP_COMPLIANCE_DB to another path).',
		});
	}
}

/**
 * Why the built-in store may not be used here, or undefined when it may. In n8n's queue mode the
 * workers may run on other hosts, each with its own file: caps, claims and consent would silently stop
 * being shared, so the built-in store is refused unless the operator states that the file is shared.
 */
export function builtInStoreRefusal(env: NodeJS.ProcessEnv): string | undefined {
	if (env.EXECUTIONS_MODE !== 'queue') return undefined;
	if (/^(1|true|yes)$/i.test(env.WHATSAPP_COMPLIANCE_DB_SHARED ?? '')) return undefined;
	return 'n8n runs in queue mode, where the built-in store (a file on each worker) is not shared between workers: use the Redis store';
}

/** Credential test for `whatsAppComplianceRedis`: connects and pings. */
export async function whatsAppComplianceRedisTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const connection = redisConnection(credential.data ?? {});
	const redis = new Redis({
		host: connection.host,
		port: connection.port,
		username: connection.username,
		password: connection.password,
		db: connection.database,
		tls: connection.tls ? {} : undefined,
		lazyConnect: true,
		connectTimeout: 5_000,
		maxRetriesPerRequest: 0,
		retryStrategy: () => null,
	});
	let lastError: Error | undefined;
	redis.on('error', (error: Error) => (lastError = error));
	try {
		await redis.connect();
		await selectDatabase(redis, connection);
		const pong = await redis.ping();
		const location = `redis://${connection.host}:${connection.port}/${connection.database ?? 0}`;
		const problem = await secretProblem(redis, connection.keyPrefix ?? 'wac:', connection.contactKeySecret, location);
		if (problem) return { status: 'Error', message: problem };
		return { status: 'OK', message: `Connected to Redis at ${connection.host}:${connection.port} (${pong})` };
	} catch (error) {
		return {
			status: 'Error',
			message:
				error instanceof StoreUnavailableError
					? error.message
					: `Redis at ${connection.host}:${connection.port}: ${describeSystemError(lastError ?? (error as Error))}`,
		};
	} finally {
		redis.disconnect();
	}
}
