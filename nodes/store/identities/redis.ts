/**
 * Contact aliases in Redis (the SQLite half: ./sqlite.ts). Key `al`: a hash alias → contact; `ar:<contact>`:
 * the contact's aliases, so that forgetting the contact reaches them (both keyed hashes; no identifier in
 * a key name).
 */
import { FACT_MAX, SET_SUPPRESSION } from '../ledger/redis';
import type { RedisClient } from '../redis/client';
import type { ContactIdentities } from '../types';
import type { KnownLinks } from './knownLinks';

export const IDENTITY_SCRIPTS = {
	/**
	 * ARGV: prefix, alias, contact. Links the alias once (the first pairing wins) and carries what was
	 * recorded under it to the contact, as ./sqlite.ts does in its transaction. Returns 1 when new.
	 */
	linkAlias: `${SET_SUPPRESSION}${FACT_MAX}
local P, alias, contact = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HSETNX', P .. 'al', alias, contact) == 0 then return 0 end
redis.call('SADD', P .. 'ar:' .. contact, alias)
for _, raw in ipairs(redis.call('LRANGE', P .. 'ev:' .. alias, 0, -1)) do
	local event = cjson.decode(raw)
	event.contactKey = contact
	event.id = redis.call('INCR', P .. 'evseq')
	redis.call('RPUSH', P .. 'ev:' .. contact, cjson.encode(event))
end
local sp = redis.call('HGETALL', P .. 'sp:' .. alias)
for i = 1, #sp, 2 do
	local s = cjson.decode(sp[i + 1])
	setSuppression(P .. 'sp:' .. contact, sp[i], s.reason, s.at)
end
local cf = redis.call('HGETALL', P .. 'cf:' .. alias)
for i = 1, #cf, 2 do factMax(P .. 'cf:' .. contact, cf[i], cf[i + 1]) end
return 1
`,
};

export class RedisContactIdentities implements ContactIdentities {
	private readonly client: RedisClient;
	private readonly known: KnownLinks;

	constructor(client: RedisClient, known: KnownLinks) {
		this.client = client;
		this.known = known;
	}

	async link(aliasKey: string, contactKey: string): Promise<boolean> {
		if (aliasKey === contactKey || this.known.has(aliasKey)) return false;
		const added = await this.client.run((redis) => redis.linkAlias(this.client.prefix, aliasKey, contactKey));
		this.known.remember(aliasKey);
		return Number(added) === 1;
	}

	async resolve(keys: string[]): Promise<string[]> {
		if (!keys.length) return [];
		const found = await this.client.run((redis) => redis.hmget(`${this.client.prefix}al`, ...keys));
		return keys.map((key, i) => found[i] ?? key);
	}
}
