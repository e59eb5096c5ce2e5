import { randomBytes, randomUUID } from 'node:crypto';

import Redis, { type RedisOptions } from 'ioredis';

import * as scripts from './redisScripts';
import { contactKeyer, deriveContactState, expandScope } from './shared';
import {
	StoreUnavailableError,
	type CapDecision,
	type CapDenial,
	type CapRequest,
	type ClaimResult,
	type ComplianceStore,
	type ConsentEvent,
	type ConsentEventInput,
	type ConsentScope,
	type ContactState,
	type PauseScope,
	type PauseState,
	type SendState,
	type SendSlots,
	type Suppression,
	type SuppressionReason,
} from './types';

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

type ScriptName =
	| 'reserve'
	| 'confirm'
	| 'release'
	| 'claim'
	| 'releaseClaim'
	| 'startSend'
	| 'liftSuppression'
	| 'acquireSlots'
	| 'recordConsent'
	| 'suppress'
	| 'forget'
	| 'factMax';

const SCRIPT_SOURCES: Record<ScriptName, string> = {
	reserve: scripts.RESERVE,
	confirm: scripts.CONFIRM,
	release: scripts.RELEASE,
	claim: scripts.CLAIM,
	releaseClaim: scripts.RELEASE_CLAIM,
	startSend: scripts.START_SEND,
	liftSuppression: scripts.LIFT_SUPPRESSION,
	acquireSlots: scripts.ACQUIRE_SLOTS,
	recordConsent: scripts.RECORD_CONSENT,
	suppress: scripts.SUPPRESS,
	forget: scripts.FORGET,
	factMax: scripts.FACT_MAX,
};

type ScriptedRedis = Redis & Record<ScriptName, (...args: Array<string | number>) => Promise<unknown>>;

const CHUNK = 1000;

export class RedisStore implements ComplianceStore {
	readonly kind = 'redis' as const;
	readonly location: string;
	private readonly redis: ScriptedRedis;
	private readonly prefix: string;
	private readonly keyContact: (e164: string) => string;

	private constructor(location: string, redis: ScriptedRedis, prefix: string, secret: Buffer) {
		this.location = location;
		this.redis = redis;
		this.prefix = prefix;
		this.keyContact = contactKeyer(secret);
	}

	static async open(connection: RedisConnection): Promise<RedisStore> {
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
			enableOfflineQueue: false,
			// No retries while opening: an operator should see at once that the host is wrong.
			retryStrategy: () => null,
		};
		const redis = new Redis(options) as ScriptedRedis;
		let lastError: Error | undefined;
		redis.on('error', (error: Error) => (lastError = error)); // surfaced through the failing call instead
		for (const [name, lua] of Object.entries(SCRIPT_SOURCES)) redis.defineCommand(name, { numberOfKeys: 0, lua });
		try {
			await redis.connect();
			const prefix = connection.keyPrefix ?? 'wac:';
			// The contact-key secret is created once, by whichever worker gets there first.
			await redis.set(`${prefix}secret`, randomBytes(32).toString('hex'), 'NX');
			const secret = await redis.get(`${prefix}secret`);
			// Once open, ride out short outages (a Redis restart, a failover) by reconnecting.
			redis.options.retryStrategy = (attempt) => (attempt > 20 ? null : Math.min(attempt * 200, 2_000));
			return new RedisStore(location, redis, prefix, Buffer.from(secret!, 'hex'));
		} catch (error) {
			redis.disconnect();
			throw new StoreUnavailableError(
				`Redis at ${connection.host}:${connection.port} is unreachable: ${describeNetworkError(lastError ?? (error as Error))}`,
			);
		}
	}

	private async run<T>(work: () => Promise<T>): Promise<T> {
		try {
			return await work();
		} catch (error) {
			throw new StoreUnavailableError(`Redis store ${this.location} failed: ${describeNetworkError(error as Error)}`);
		}
	}

	contactKey(e164: string): string {
		return this.keyContact(e164);
	}

	// ---- consent ----

	async recordConsent(events: ConsentEventInput[]): Promise<void> {
		const recordedAt = Date.now();
		await this.run(async () => {
			const pipeline = this.redis.pipeline() as unknown as ScriptedRedis;
			for (const event of events) {
				for (const category of event.categories) {
					const stored: Omit<ConsentEvent, 'id'> = {
						contactKey: event.contactKey,
						action: event.action,
						category,
						at: event.at,
						recordedAt,
					};
					if (event.source) stored.source = event.source;
					if (event.wording) stored.wording = event.wording;
					if (event.businessName) stored.businessName = event.businessName;
					if (event.collectedBy) stored.collectedBy = event.collectedBy;
					void pipeline.recordConsent(
						this.prefix,
						event.contactKey,
						event.action,
						category,
						JSON.stringify(stored),
						event.at,
						JSON.stringify(expandScope(category)),
					);
				}
			}
			await execPipeline(pipeline);
		});
	}

	async consentHistory(contactKey: string): Promise<ConsentEvent[]> {
		const raw = await this.run(() => this.redis.lrange(`${this.prefix}ev:${contactKey}`, 0, -1));
		return raw.map((e) => JSON.parse(e) as ConsentEvent).sort((a, b) => a.at - b.at || a.id - b.id);
	}

	async suppress(
		entries: Array<{ contactKey: string; category: ConsentScope; reason: SuppressionReason; at: number }>,
	): Promise<void> {
		await this.run(async () => {
			for (let i = 0; i < entries.length; i += CHUNK) {
				const pipeline = this.redis.pipeline() as unknown as ScriptedRedis;
				for (const entry of entries.slice(i, i + CHUNK)) {
					void pipeline.suppress(
						this.prefix,
						entry.contactKey,
						entry.reason,
						entry.at,
						JSON.stringify(expandScope(entry.category)),
					);
				}
				await execPipeline(pipeline);
			}
		});
	}

	async liftSuppressions(
		entries: Array<{ contactKey: string; category: ConsentScope; reasons: SuppressionReason[] }>,
	): Promise<void> {
		await this.run(async () => {
			const pipeline = this.redis.pipeline() as unknown as ScriptedRedis;
			for (const entry of entries)
				void pipeline.liftSuppression(
					this.prefix,
					entry.contactKey,
					JSON.stringify(expandScope(entry.category)),
					JSON.stringify(entry.reasons),
				);
			await execPipeline(pipeline);
		});
	}

	async forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }> {
		const deleted = await this.run(() =>
			this.redis.forget(this.prefix, contactKey, at, JSON.stringify(expandScope('all'))),
		);
		return { eventsDeleted: Number(deleted) };
	}

	private async factMax(contactKey: string, field: 'u' | 'h' | 'i', value: number) {
		await this.run(() => this.redis.factMax(this.prefix, contactKey, field, value));
	}

	async markUndeliverable(contactKey: string, at: number): Promise<void> {
		await this.factMax(contactKey, 'u', at);
	}

	async holdContact(contactKey: string, until: number): Promise<void> {
		await this.factMax(contactKey, 'h', until);
	}

	async recordInteraction(contactKey: string, at: number): Promise<void> {
		await this.factMax(contactKey, 'i', at);
	}

	async contactStates(contactKeys: string[]): Promise<Map<string, ContactState>> {
		const unique = [...new Set(contactKeys)];
		const states = new Map<string, ContactState>();
		await this.run(async () => {
			for (let i = 0; i < unique.length; i += CHUNK) {
				const part = unique.slice(i, i + CHUNK);
				const pipeline = this.redis.pipeline();
				for (const contact of part) {
					pipeline.lrange(`${this.prefix}ev:${contact}`, 0, -1);
					pipeline.hgetall(`${this.prefix}sp:${contact}`);
					pipeline.hmget(`${this.prefix}cf:${contact}`, 'u', 'h', 'i');
				}
				const results = await execPipeline(pipeline);
				part.forEach((contact, index) => {
					const events = (results[index * 3] as string[]).map((e) => JSON.parse(e) as ConsentEvent);
					const suppressions: Suppression[] = Object.entries(results[index * 3 + 1] as Record<string, string>).map(
						([category, value]) => ({
							category: category as ConsentScope,
							...(JSON.parse(value) as { reason: SuppressionReason; at: number }),
						}),
					);
					const [u, h, interaction] = (results[index * 3 + 2] as Array<string | null>).map((v) =>
						v === null ? undefined : Number(v),
					);
					states.set(
						contact,
						deriveContactState(events, suppressions, {
							undeliverableAt: u,
							holdUntil: h,
							lastInteractionAt: interaction,
						}),
					);
				});
			}
		});
		return states;
	}

	// ---- frequency caps ----

	async reserve(requests: CapRequest[], now: number): Promise<CapDecision[]> {
		const decisions: CapDecision[] = [];
		await this.run(async () => {
			// Chunks keep each script short: Redis runs nothing else while a script runs.
			for (let i = 0; i < requests.length; i += CHUNK) {
				const part = requests.slice(i, i + CHUNK).map((r) => {
					const q: Record<string, unknown> = {
						c: r.contactKey,
						k: r.category,
						p: r.phoneNumberId,
						ttl: r.reservationTtlMs,
						id: randomUUID(),
					};
					if (r.rule) Object.assign(q, { win: r.rule.windowMs, gap: r.rule.minGapMs, max: r.rule.maxCount });
					if (r.budgets?.messagesPerHour !== undefined) q.hr = r.budgets.messagesPerHour;
					if (r.budgets?.messagesPerDay !== undefined) q.dy = r.budgets.messagesPerDay;
					if (r.budgets?.uniqueContactsPer24h !== undefined) q.uq = r.budgets.uniqueContactsPer24h;
					if (r.dryRun) q.dry = true;
					return q;
				});
				const raw = (await this.redis.reserve(this.prefix, now, JSON.stringify(part))) as string;
				for (const [allowed, detail, next] of JSON.parse(raw) as Array<[number, string?, string?]>) {
					if (allowed) decisions.push(detail ? { allowed: true, reservationId: detail } : { allowed: true });
					else decisions.push({ allowed: false, reason: detail as CapDenial, nextAllowedAt: Number(next) });
				}
			}
		});
		return decisions;
	}

	async confirmReservation(reservationId: string, at: number): Promise<boolean> {
		return Number(await this.run(() => this.redis.confirm(this.prefix, reservationId, at))) === 1;
	}

	async releaseReservation(reservationId: string): Promise<boolean> {
		return Number(await this.run(() => this.redis.release(this.prefix, reservationId))) === 1;
	}

	// ---- idempotency ----

	async claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
		as: 'claimed' | 'sending' = 'claimed',
	): Promise<ClaimResult> {
		const [state, at, extra] = (await this.run(() =>
			this.redis.claim(this.prefix, campaignId, contactKey, now, claimTtlMs, owner, as),
		)) as string[];
		if (state === 'sent') return { state: 'sent', at: Number(at), messageId: extra || undefined };
		if (state === 'in_flight') return { state: 'in_flight', at: Number(at) };
		return { state: 'claimed' };
	}

	async sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>> {
		const states = new Map<string, SendState>();
		for (let i = 0; i < contactKeys.length; i += CHUNK) {
			const chunk = contactKeys.slice(i, i + CHUNK);
			const values = await this.run(() => this.redis.hmget(`${this.prefix}cl:${campaignId}`, ...chunk));
			values.forEach((value, index) => {
				// "state|at|extra|owner", as the claim scripts write it.
				const [state, at, extra] = (value ?? '').split('|');
				if (state === 'sent')
					states.set(chunk[index], { state: 'sent', at: Number(at), messageId: extra || undefined });
				else if (state === 'sending' && Number(extra) > now)
					states.set(chunk[index], { state: 'in_flight', at: Number(at) });
			});
		}
		return states;
	}

	async startSend(
		campaignId: string,
		contactKey: string,
		owner: string,
		now: number,
		claimTtlMs: number,
	): Promise<boolean> {
		return (
			Number(
				await this.run(() => this.redis.startSend(this.prefix, campaignId, contactKey, owner, now, claimTtlMs)),
			) === 1
		);
	}

	async completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void> {
		await this.run(() =>
			this.redis
				.multi()
				.hset(`${this.prefix}cl:${campaignId}`, contactKey, `sent|${at}|${messageId}|`)
				.set(`${this.prefix}ls:${contactKey}`, JSON.stringify({ campaignId, messageId, at }), 'PX', 35 * 86_400_000)
				.exec(),
		);
	}

	async lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined> {
		const raw = await this.run(() => this.redis.get(`${this.prefix}ls:${contactKey}`));
		return raw ? (JSON.parse(raw) as { campaignId: string; messageId?: string; at: number }) : undefined;
	}

	async releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void> {
		await this.run(() => this.redis.releaseClaim(this.prefix, campaignId, contactKey, owner));
	}

	// ---- campaign state ----

	async incrementCounters(campaignId: string, deltas: Record<string, number>): Promise<void> {
		const entries = Object.entries(deltas).filter(([, delta]) => delta);
		if (!entries.length) return;
		await this.run(async () => {
			const pipeline = this.redis.pipeline();
			for (const [name, delta] of entries) pipeline.hincrby(`${this.prefix}ct:${campaignId}`, name, delta);
			await execPipeline(pipeline);
		});
	}

	async counters(campaignId: string): Promise<Record<string, number>> {
		const raw = await this.run(() => this.redis.hgetall(`${this.prefix}ct:${campaignId}`));
		return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, Number(value)]));
	}

	async setPause(state: PauseState): Promise<void> {
		await this.run(() => this.redis.hset(`${this.prefix}pz`, `${state.scope}|${state.id}`, JSON.stringify(state)));
	}

	async activePause(scopes: Array<{ scope: PauseScope; id: string }>): Promise<PauseState | undefined> {
		if (!scopes.length) return undefined;
		const values = await this.run(() =>
			this.redis.hmget(`${this.prefix}pz`, ...scopes.map((s) => `${s.scope}|${s.id}`)),
		);
		for (const value of values) {
			if (!value) continue;
			const state = JSON.parse(value) as PauseState;
			if (state.paused) return state;
		}
		return undefined;
	}

	async pauses(): Promise<PauseState[]> {
		const all = await this.run(() => this.redis.hvals(`${this.prefix}pz`));
		return all.map((v) => JSON.parse(v) as PauseState).sort((a, b) => a.at - b.at);
	}

	// ---- throughput limiter ----

	async acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots> {
		if (!(ratePerSecond > 0)) throw new Error(`Throughput must be a positive rate, got ${ratePerSecond}`);
		const [now, ...waits] = (await this.run(() =>
			this.redis.acquireSlots(this.prefix, phoneNumberId, ratePerSecond, count),
		)) as string[];
		return { now: Number(now), waits: waits.map(Number) };
	}

	// ---- webhook dedupe ----

	async markSeen(keys: string[], ttlMs: number): Promise<boolean[]> {
		if (!keys.length) return [];
		return await this.run(async () => {
			const pipeline = this.redis.pipeline();
			for (const key of keys) pipeline.set(`${this.prefix}sn:${key}`, '1', 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
			const results = await execPipeline(pipeline);
			return results.map((r) => r === 'OK');
		});
	}

	async close(): Promise<void> {
		if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
		else this.redis.disconnect();
	}
}

/**
 * Network failures in words. (n8n replaces any error message that contains a code such as ECONNREFUSED
 * with a generic sentence, which would hide the host the operator has to fix.)
 */
export function describeNetworkError(error: Error & { code?: string }): string {
	const words: Record<string, string> = {
		ECONNREFUSED: 'connection refused (is Redis running and listening there?)',
		ENOTFOUND: 'host not found',
		EAI_AGAIN: 'host name could not be resolved',
		ETIMEDOUT: 'connection timed out',
		ECONNRESET: 'connection reset',
		EHOSTUNREACH: 'host unreachable',
	};
	return (
		(error.code && words[error.code]) ||
		error.message.replace(
			/\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|EAI_AGAIN)\b/g,
			(code) => words[code],
		)
	);
}

async function execPipeline(pipeline: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<unknown[]> {
	const results = (await pipeline.exec()) ?? [];
	for (const [error] of results) if (error) throw error;
	return results.map(([, value]) => value);
}
