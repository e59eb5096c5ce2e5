/**
 * The consent ledger, suppressions and contact facts in Redis (the SQLite half: ./sqlite.ts). Keys:
 * `ev:<contact>` the ledger (a list of JSON events), `sp:<contact>` suppressions (category → JSON),
 * `cf:<contact>` facts (u undeliverable, h hold, i interaction).
 */
import { deriveContactState } from '../../core/contactState';
import {
	expandScope,
	FORGOTTEN_SUPPRESSION,
	LIFTED_BY_OPT_IN,
	OPT_OUT_SUPPRESSION,
	type ConsentEvent,
	type ConsentEventInput,
	type ConsentScope,
	type ContactState,
	type Suppression,
	type SuppressionReason,
} from '../../core/types';
import type { KnownLinks } from '../identities/knownLinks';
import { execPipeline, luaSet, type RedisClient } from '../redis/client';
import type { ConsentLedger, ContactFacts } from '../types';

const CHUNK = 1000;

/** Fields of `cf:<contact>`. */
const FACT = { undeliverable: 'u', hold: 'h', interaction: 'i' } as const;

/** A newer suppression replaces an older one (as ../sqlite.ts's upsert). */
export const SET_SUPPRESSION = `
local function setSuppression(sp, category, reason, at)
	local current = redis.call('HGET', sp, category)
	if not current or at >= cjson.decode(current).at then
		redis.call('HSET', sp, category, cjson.encode({ reason = reason, at = at }))
	end
end
`;

/** A fact keeps its larger value (late webhook retries change nothing). */
export const FACT_MAX = `
local function factMax(key, field, value)
	local current = tonumber(redis.call('HGET', key, field) or '0')
	if tonumber(value) > current then redis.call('HSET', key, field, value) end
end
`;

export const LEDGER_SCRIPTS = {
	/**
	 * One consent event: appended to the ledger, with the suppression it implies. ARGV: prefix, contact,
	 * action, category, event JSON (without id), at, JSON list of categories the scope expands to.
	 */
	recordConsent: `${SET_SUPPRESSION}
local P, contact, action, category, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local LIFTED_BY_OPT_IN = ${luaSet(LIFTED_BY_OPT_IN)}
local event = cjson.decode(ARGV[5])
event.id = redis.call('INCR', P .. 'evseq')
redis.call('RPUSH', P .. 'ev:' .. contact, cjson.encode(event))
local sp = P .. 'sp:' .. contact
for _, each in ipairs(cjson.decode(ARGV[7])) do
	if action == 'opt_out' then
		setSuppression(sp, each, '${OPT_OUT_SUPPRESSION}', at)
	elseif action == 'opt_in' then
		local current = redis.call('HGET', sp, each)
		local existing = current and cjson.decode(current)
		if existing and LIFTED_BY_OPT_IN[existing.reason] and existing.at <= at then redis.call('HDEL', sp, each) end
	end
end
return event.id
`,
	/** ARGV: prefix, contact, reason, at, JSON categories. */
	suppress: `${SET_SUPPRESSION}
local sp = ARGV[1] .. 'sp:' .. ARGV[2]
for _, each in ipairs(cjson.decode(ARGV[5])) do setSuppression(sp, each, ARGV[3], tonumber(ARGV[4])) end
return 1
`,
	/**
	 * ARGV: prefix, contact, at, JSON categories. Erases the ledger and facts, keeps (or adds) suppression;
	 * the person's aliases (`ar:<contact>`, kept by ../identities/redis.ts) stay suppressed and unlinked.
	 */
	forget: `
local P, contact, at = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = redis.call('LLEN', P .. 'ev:' .. contact)
redis.call('DEL', P .. 'ev:' .. contact, P .. 'cf:' .. contact)
local keys = { contact }
for _, alias in ipairs(redis.call('SMEMBERS', P .. 'ar:' .. contact)) do
	table.insert(keys, alias)
	redis.call('HDEL', P .. 'al', alias)
end
redis.call('DEL', P .. 'ar:' .. contact)
for _, key in ipairs(keys) do
	for _, each in ipairs(cjson.decode(ARGV[4])) do
		redis.call('HSETNX', P .. 'sp:' .. key, each, cjson.encode({ reason = '${FORGOTTEN_SUPPRESSION}', at = at }))
	end
end
return n
`,
	/** ARGV: prefix, contact, field, value. Keeps the larger value (late webhook retries change nothing). */
	factMax: `${FACT_MAX}
factMax(ARGV[1] .. 'cf:' .. ARGV[2], ARGV[3], ARGV[4])
return 1
`,
	/** ARGV: prefix, contact, field, up to. Clears the field when its value is at or before `up to`. */
	factClear: `
local key = ARGV[1] .. 'cf:' .. ARGV[2]
local current = tonumber(redis.call('HGET', key, ARGV[3]) or 'nil')
if current and current <= tonumber(ARGV[4]) then redis.call('HDEL', key, ARGV[3]) end
return 1
`,
	/** ARGV: prefix, contact, JSON categories, JSON reasons. Removes suppressions held for those reasons. */
	liftSuppression: `
local sp = ARGV[1] .. 'sp:' .. ARGV[2]
local reasons = {}
for _, reason in ipairs(cjson.decode(ARGV[4])) do reasons[reason] = true end
for _, each in ipairs(cjson.decode(ARGV[3])) do
	local current = redis.call('HGET', sp, each)
	if current and reasons[cjson.decode(current).reason] then redis.call('HDEL', sp, each) end
end
return 1
`,
};

export class RedisConsentLedger implements ConsentLedger {
	private readonly client: RedisClient;
	private readonly knownLinks: KnownLinks;

	constructor(client: RedisClient, knownLinks: KnownLinks) {
		this.client = client;
		this.knownLinks = knownLinks;
	}

	async recordConsent(events: ConsentEventInput[]): Promise<void> {
		const recordedAt = Date.now();
		await this.client.run(async () => {
			const pipeline = this.client.pipeline();
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
						this.client.prefix,
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
		const raw = await this.client.run((redis) => redis.lrange(`${this.client.prefix}ev:${contactKey}`, 0, -1));
		return raw.map((e) => JSON.parse(e) as ConsentEvent).sort((a, b) => a.at - b.at || a.id - b.id);
	}

	async suppress(
		entries: Array<{ contactKey: string; category: ConsentScope; reason: SuppressionReason; at: number }>,
	): Promise<void> {
		await this.client.run(async () => {
			for (let i = 0; i < entries.length; i += CHUNK) {
				const pipeline = this.client.pipeline();
				for (const entry of entries.slice(i, i + CHUNK)) {
					void pipeline.suppress(
						this.client.prefix,
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
		await this.client.run(async () => {
			const pipeline = this.client.pipeline();
			for (const entry of entries)
				void pipeline.liftSuppression(
					this.client.prefix,
					entry.contactKey,
					JSON.stringify(expandScope(entry.category)),
					JSON.stringify(entry.reasons),
				);
			await execPipeline(pipeline);
		});
	}

	async forgetContact(contactKey: string, at: number): Promise<{ eventsDeleted: number }> {
		const deleted = await this.client.run((redis) =>
			redis.forget(this.client.prefix, contactKey, at, JSON.stringify(expandScope('all'))),
		);
		this.knownLinks.clear();
		return { eventsDeleted: Number(deleted) };
	}

	async contactStates(contactKeys: string[]): Promise<Map<string, ContactState>> {
		const unique = [...new Set(contactKeys)];
		const states = new Map<string, ContactState>();
		const P = this.client.prefix;
		await this.client.run(async () => {
			for (let i = 0; i < unique.length; i += CHUNK) {
				const part = unique.slice(i, i + CHUNK);
				const pipeline = this.client.pipeline();
				for (const contact of part) {
					pipeline.lrange(`${P}ev:${contact}`, 0, -1);
					pipeline.hgetall(`${P}sp:${contact}`);
					pipeline.hmget(`${P}cf:${contact}`, FACT.undeliverable, FACT.hold, FACT.interaction);
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
					const [undeliverableAt, holdUntil, lastInteractionAt] = (results[index * 3 + 2] as Array<string | null>).map(
						(v) => (v === null ? undefined : Number(v)),
					);
					states.set(
						contact,
						deriveContactState(events, suppressions, { undeliverableAt, holdUntil, lastInteractionAt }),
					);
				});
			}
		});
		return states;
	}
}

export class RedisContactFacts implements ContactFacts {
	private readonly client: RedisClient;

	constructor(client: RedisClient) {
		this.client = client;
	}

	private async factMax(contactKey: string, field: (typeof FACT)[keyof typeof FACT], value: number) {
		await this.client.run((redis) => redis.factMax(this.client.prefix, contactKey, field, value));
	}

	async markUndeliverable(contactKey: string, at: number): Promise<void> {
		await this.factMax(contactKey, FACT.undeliverable, at);
	}

	async clearUndeliverable(contactKey: string, upTo: number): Promise<void> {
		await this.client.run((redis) => redis.factClear(this.client.prefix, contactKey, FACT.undeliverable, upTo));
	}

	/** The cap script reads this field (caps/redis.ts, HOLD_FIELD). */
	async holdContact(contactKey: string, until: number): Promise<void> {
		await this.factMax(contactKey, FACT.hold, until);
	}

	async recordInteraction(contactKey: string, at: number): Promise<void> {
		await this.factMax(contactKey, FACT.interaction, at);
	}
}

export const HOLD_FIELD = FACT.hold;
