/**
 * The Redis store's one connection: opening it, the Lua scripts every concern registers, and turning
 * failures into StoreUnavailableError. Each concern's Redis half (ledger/redis.ts, …) runs its commands
 * and scripts through this. Every key starts with the configured prefix; ARGV[1] of every script is it.
 */
import { randomBytes } from 'node:crypto';

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
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
/** The connection (or a pipeline on it) with the registered scripts as commands. */
export type ScriptedRedis = Redis & Record<string, Script>;

export class RedisClient {
	readonly location: string;
	readonly redis: ScriptedRedis;
	readonly prefix: string;
	/** The contact-key secret, created once by whichever worker got there first. */
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
			await redis.set(`${prefix}secret`, randomBytes(32).toString('hex'), 'NX');
			const secret = await redis.get(`${prefix}secret`);
			// Once open, ride out short outages (a Redis restart, a failover) by reconnecting.
			// Once open, reconnect for as long as it takes (a restart, a failover, a long outage): while
			// Redis is away every command fails at once (no offline queue), and once it is back the same
			// connection serves again, without restarting n8n.
			redis.options.retryStrategy = (attempt) => Math.min(attempt * 200, 2_000);
			return new RedisClient(location, redis, prefix, Buffer.from(secret!, 'hex'));
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
