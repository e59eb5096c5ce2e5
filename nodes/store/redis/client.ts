/**
 * The Redis store's one connection: opening it, the Lua scripts every concern registers, and turning
 * failures into StoreUnavailableError. Each concern's Redis half (ledger/redis.ts, …) runs its commands
 * and scripts through this. Every key starts with the configured prefix; ARGV[1] of every script is it.
 */
import { createHmac } from 'node:crypto';

import Redis, { type RedisOptions } from 'ioredis';

import { describeSystemError } from '../errors';
import { StoreUnavailableError } from '../types';

export interface RedisConnection {
	host: string;
	port: number;
	username?: string;
	password?: string;
	database?: number;
	tls?: boolean;
	/** Prefix of every key, so several n8n instances (or tests) can share one Redis. */
	keyPrefix?: string;
	/**
	 * The secret contact keys are made with (the credential's Contact Key Secret, which n8n encrypts).
	 * It is never written to Redis: a dump of Redis alone does not tell whose keys are in it.
	 */
	contactKeySecret?: string;
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
/** The connection (or a pipeline on it) with the registered scripts as commands. */
export type ScriptedRedis = Redis & Record<string, Script>;

export class RedisClient {
	readonly location: string;
	readonly redis: ScriptedRedis;
	readonly prefix: string;
	/** The contact-key secret (see `storeSecret`). */
	readonly secret: Buffer;

	private constructor(location: string, redis: ScriptedRedis, prefix: string, secret: Buffer) {
		this.location = location;
		this.redis = redis;
		this.prefix = prefix;
		this.secret = secret;
	}

	/** Connects and registers `scripts` (name → Lua) as commands. */
	static async open(connection: RedisConnection, scripts: Record<string, string>): Promise<RedisClient> {
		const location = `redis://${connection.host}:${connection.port}/${connection.database ?? 0}`;
		const options: RedisOptions = {
			host: connection.host,
			port: connection.port,
			username: connection.username || undefined,
			password: connection.password || undefined,
			db: connection.database ?? 0,
			tls: connection.tls ? {} : undefined,
			lazyConnect: true,
			connectTimeout: 5_000,
			// Fail a command fast when Redis is gone instead of queueing it: a node must never decide on
			// missing state (fail closed), and the operator must see which host is unreachable.
			maxRetriesPerRequest: 1,
			// A Redis that accepts the connection but never answers fails the command instead of stalling
			// the run: fail closed.
			commandTimeout: COMMAND_TIMEOUT_MS,
			enableOfflineQueue: false,
			// No retries while opening: an operator should see at once that the host is wrong.
			retryStrategy: () => null,
		};
		const redis = new Redis(options) as ScriptedRedis;
		let lastError: Error | undefined;
		redis.on('error', (error: Error) => (lastError = error)); // surfaced through the failing call instead
		for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: 0, lua });
		try {
			await redis.connect();
			await selectDatabase(redis, connection);
			const prefix = connection.keyPrefix ?? 'wac:';
			const secret = await storeSecret(redis, prefix, connection.contactKeySecret, location);
			// Once open, ride out short outages (a Redis restart, a failover) by reconnecting.
			// Once open, reconnect for as long as it takes (a restart, a failover, a long outage): while
			// Redis is away every command fails at once (no offline queue), and once it is back the same
			// connection serves again, without restarting n8n.
			redis.options.retryStrategy = (attempt) => Math.min(attempt * 200, 2_000);
			return new RedisClient(location, redis, prefix, secret);
		} catch (error) {
			redis.disconnect();
			if (error instanceof StoreUnavailableError) throw error;
			throw new StoreUnavailableError(
				`Redis at ${connection.host}:${connection.port} is unreachable: ${describeSystemError(lastError ?? (error as Error))}`,
			);
		}
	}

	/** Fails (naming the host) unless Redis answers now: checked at the start of each execution. */
	async check(): Promise<void> {
		await this.run((redis) => redis.ping());
	}

	/** Runs Redis work; any failure becomes a StoreUnavailableError naming the store. */
	async run<T>(work: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
		try {
			return await work(this.redis);
		} catch (error) {
			throw new StoreUnavailableError(`Redis store ${this.location} failed: ${describeSystemError(error as Error)}`);
		}
	}

	/** A pipeline on which the registered scripts are commands too. */
	pipeline(): ScriptedRedis {
		return this.redis.pipeline() as unknown as ScriptedRedis;
	}

	async close(): Promise<void> {
		if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
		else this.redis.disconnect();
	}
}

const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Selects the configured database explicitly: a SELECT that Redis refuses at connect time is otherwise
 * silent, and the keys would be written to database 0.
 */
export async function selectDatabase(redis: Redis, connection: RedisConnection): Promise<void> {
	const database = connection.database ?? 0;
	try {
		await redis.select(database);
	} catch (error) {
		throw new StoreUnavailableError(
			`Redis at ${connection.host}:${connection.port} has no database ${database} (${(error as Error).message.replace(/^ERR /, '')}): choose one the server has, usually 0 to 15`,
		);
	}
}

/** Runs a pipeline; the first command that failed rejects it. */
export async function execPipeline(pipeline: {
	exec(): Promise<Array<[Error | null, unknown]> | null>;
}): Promise<unknown[]> {
	const results = (await pipeline.exec()) ?? [];
	for (const [error] of results) if (error) throw error;
	return results.map(([, value]) => value);
}

/** A Lua set literal: `{ ['a'] = true, ['b'] = true }`. */
export const luaSet = (values: readonly string[]) => `{ ${values.map((v) => `['${v}'] = true`).join(', ')} }`;

/**
 * The store's contact-key secret. It comes from the credential and never lives in Redis; Redis keeps
 * only a check value, so a worker given another secret is refused instead of keying people apart.
 * Stores created before the credential had the field kept a random secret in Redis (`<prefix>secret`):
 * they keep working while the field is empty, and once the same value is entered in the credential it
 * is deleted from Redis. A new store needs the field.
 */
async function storeSecret(
	redis: ScriptedRedis,
	prefix: string,
	given: string | undefined,
	location: string,
): Promise<Buffer> {
	const problem = await secretProblem(redis, prefix, given, location);
	if (problem) throw new StoreUnavailableError(problem);
	const legacy = await redis.get(`${prefix}secret`);
	if (!given) return Buffer.from(legacy!, 'hex');
	const secret = secretBytes(given);
	const check = secretCheck(secret);
	await redis.set(`${prefix}secretcheck`, check, 'NX');
	// Another worker created the store with another secret in the meantime.
	if ((await redis.get(`${prefix}secretcheck`)) !== check)
		throw new StoreUnavailableError((await secretProblem(redis, prefix, given, location))!);
	// Moved to the credential: the copy beside the data goes.
	if (legacy) await redis.del(`${prefix}secret`);
	return secret;
}

/** Why this secret cannot open the store at `prefix`, read-only (the credential test asks it too), or undefined. */
export async function secretProblem(
	redis: Redis,
	prefix: string,
	given: string | undefined,
	location: string,
): Promise<string | undefined> {
	const store = `the Redis store at ${location} (key prefix "${prefix}")`;
	const [legacy, check] = await Promise.all([redis.get(`${prefix}secret`), redis.get(`${prefix}secretcheck`)]);
	if (!given)
		return legacy
			? undefined
			: `${store[0].toUpperCase()}${store.slice(1)} needs a Contact Key Secret: enter one in the WhatsApp Compliance Redis credential (for example the output of "openssl rand -hex 32"), the same in every n8n that shares this store. It is kept by n8n, never in Redis.`;
	if (!/^[0-9a-fA-F]{64}$/.test(given) && given.length < 32)
		return 'The Contact Key Secret must be at least 32 characters (for example the output of "openssl rand -hex 32").';
	const secret = secretBytes(given);
	if (legacy && !Buffer.from(legacy, 'hex').equals(secret))
		return `The Contact Key Secret in the credential is not the secret ${store} was created with: copy the value of the key ${prefix}secret into the credential, or use another Key Prefix for a new store.`;
	if (check && check !== secretCheck(secret))
		return `The Contact Key Secret in the credential is not the one ${store} was created with: every n8n sharing the store needs the same secret (or use another Key Prefix for a new store).`;
	return undefined;
}

/** What Redis keeps to compare secrets: an HMAC of a constant under the secret, which reveals nothing of it. */
const secretCheck = (secret: Buffer) =>
	createHmac('sha256', secret).update('whatsapp-compliance contact key check').digest('hex');

/** 64 hex characters are the secret's bytes (the form earlier stores kept in Redis); other text is taken as is. */
const secretBytes = (given: string) =>
	/^[0-9a-fA-F]{64}$/.test(given) ? Buffer.from(given, 'hex') : Buffer.from(given, 'utf8');
