/**
 * Frequency caps in Redis. The check-and-reserve must be atomic across workers, so it runs as Lua:
 * core/frequencyCaps.ts#decideCap restated, same checks, same order, same half-open windows, with its
 * reason codes, time units and retention taken from core (the SQLite half runs decideCap itself:
 * ./sqlite.ts). Keys: `res:<id>` a reservation, `ck:<contact>:<category>` and `ca:<contact>` a
 * contact's sends, `ph:<phone>` and `uq:<phone>` the number's sends and contacts, `rx` expiries, `co`
 * each process's lease and `or:<owner>` its unconfirmed reservations, `sd:<phone>:<day>` and
 * `sg:<campaign>` the estimated spend of live sends and reservations.
 */
import { randomUUID } from 'node:crypto';

import {
	EXPIRED_RESERVATION_GRACE_MS,
	PHONE_WINDOW_TTL_MS,
	RESERVATION_LEASE_MS,
	SEND_LOG_RETENTION_MS,
} from '../../core/retention';
import { DAY_MS, HOUR_MS } from '../../core/time';
import { CAP_DENIALS, META_HOLD_CATEGORIES, type CapDecision, type CapDenial, type CapRequest } from '../../core/types';
import { HOLD_FIELD } from '../ledger/redis';
import { luaSet, type RedisClient } from '../redis/client';
import type { FrequencyCapStore } from '../types';
import { LeaseRenewal } from './leases';

const CHUNK = 1000;

/**
 * Adds (sign 1) or takes back (sign -1) a reservation's estimated cost on the spend counters it counts
 * toward: \`sd:<phone>:<day>\` and \`sg:<campaign>\`, named in its hash (m: cost, sd, sg: the keys).
 */
const SPEND_COUNTS = `
local function spendCounts(P, id, sign)
	local s = redis.call('HMGET', P .. 'res:' .. id, 'm', 'sd', 'sg')
	local m = tonumber(s[1] or '0')
	if m == 0 then return end
	if s[2] then redis.call('INCRBY', s[2], sign * m) end
	if s[3] then redis.call('INCRBY', s[3], sign * m) end
end
`;

/** Removes a reservation from the live sets; `keep` leaves its hash so a late confirmation still works. */
const REMOVE_ENTRY = `
${SPEND_COUNTS}
local function removeEntry(P, id, keep)
	local r = redis.call('HMGET', P .. 'res:' .. id, 'c', 'k', 'p', 'o')
	redis.call('ZREM', P .. 'rx', id)
	local c, k, p = r[1], r[2], r[3]
	if r[4] then redis.call('SREM', P .. 'or:' .. r[4], id) end
	if not c then return 0 end
	spendCounts(P, id, -1)
	redis.call('ZREM', P .. 'ck:' .. c .. ':' .. k, id)
	redis.call('ZREM', P .. 'ca:' .. c, id)
	redis.call('ZREM', P .. 'ph:' .. p, id)
	if keep then
		redis.call('HSET', P .. 'res:' .. id, 'x', '-1')
		redis.call('PEXPIRE', P .. 'res:' .. id, ${EXPIRED_RESERVATION_GRACE_MS})
	else
		redis.call('DEL', P .. 'res:' .. id)
	end
	-- the contact's latest remaining send through this phone number decides its unique-contact slot
	local latest = nil
	local ids = redis.call('ZRANGE', P .. 'ca:' .. c, 0, -1, 'WITHSCORES')
	for i = 1, #ids, 2 do
		if redis.call('HGET', P .. 'res:' .. ids[i], 'p') == p then
			local t = tonumber(ids[i + 1])
			if not latest or t > latest then latest = t end
		end
	end
	if latest then redis.call('ZADD', P .. 'uq:' .. p, latest, c) else redis.call('ZREM', P .. 'uq:' .. p, c) end
	return 1
end
`;

const D = CAP_DENIALS;

export const CAP_SCRIPTS = {
	/** Check-and-reserve for a batch. ARGV: prefix, now, JSON requests, owner (this process). */
	reserve: `${REMOVE_ENTRY}
local P = ARGV[1]
local now = tonumber(ARGV[2])
local requests = cjson.decode(ARGV[3])
local owner = ARGV[4]
local DAY, HOUR, RETENTION, PHONE_TTL = ${DAY_MS}, ${HOUR_MS}, ${SEND_LOG_RETENTION_MS}, ${PHONE_WINDOW_TTL_MS}
local HELD = ${luaSet(META_HOLD_CATEGORIES)}

for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'rx', '-inf', now)) do removeEntry(P, id, true) end
-- The unconfirmed reservations of processes whose lease lapsed (killed) stop holding anyone back; this
-- process is alive whatever clock now is read from. co: owner -> lease end; or:<owner>: its reservations.
local leases = redis.call('HGETALL', P .. 'co')
for j = 1, #leases, 2 do
	if leases[j] ~= owner and tonumber(leases[j + 1]) <= now then
		for _, id in ipairs(redis.call('SMEMBERS', P .. 'or:' .. leases[j])) do
			local x = redis.call('HGET', P .. 'res:' .. id, 'x')
			if x and x ~= '0' then removeEntry(P, id, false) end
		end
		redis.call('DEL', P .. 'or:' .. leases[j])
		redis.call('HDEL', P .. 'co', leases[j])
	end
end
local lease = now + ${RESERVATION_LEASE_MS}
if tonumber(redis.call('HGET', P .. 'co', owner) or '0') < lease then redis.call('HSET', P .. 'co', owner, lease) end

local pruned = {}
local results = {}
for i, q in ipairs(requests) do
	local c, k, p = q.c, q.k, q.p
	local decision = nil
	if HELD[k] then
		local hold = tonumber(redis.call('HGET', P .. 'cf:' .. c, '${HOLD_FIELD}') or '0')
		if hold > now then decision = { 0, '${D.META_HOLD}', hold } end
	end

	local ck = P .. 'ck:' .. c .. ':' .. k
	if not decision and q.win then
		-- The contact's live sends and reservations in the window (expired ones were removed above).
		local times, lastConfirmed, pendingUntil = {}, nil, nil
		local entries = redis.call('ZRANGEBYSCORE', ck, '(' .. (now - math.max(q.win, q.gap)), '+inf', 'WITHSCORES')
		for j = 1, #entries, 2 do
			local r = redis.call('HMGET', P .. 'res:' .. entries[j], 'x')
			local t = tonumber(entries[j + 1])
			if r[1] == '0' or r[1] == false then
				times[#times + 1] = t
				lastConfirmed = t
			else
				times[#times + 1] = t
				local x = tonumber(r[1])
				if not pendingUntil or x > pendingUntil then pendingUntil = x end
			end
		end
		local last = times[#times]
		if q.gap > 0 and last and now - last < q.gap then
			local sentRecently = lastConfirmed and now - lastConfirmed < q.gap
			if not sentRecently and pendingUntil then
				decision = { 0, '${D.RESERVED}', pendingUntil }
			else
				decision = { 0, '${D.MIN_GAP}', (sentRecently and lastConfirmed or last) + q.gap }
			end
		end
		if not decision and q.max > 0 then
			local n, first = 0, nil
			for j = 1, #times do if times[j] > now - q.win then n = n + 1; if not first then first = j end end end
			if n >= q.max then decision = { 0, '${D.CONTACT_CAP}', times[first + n - q.max] + q.win } end
		end
	end

	local ph, uq = P .. 'ph:' .. p, P .. 'uq:' .. p
	if not decision and (q.hr or q.dy or q.uq) then
		if not pruned[p] then
			redis.call('ZREMRANGEBYSCORE', ph, '-inf', now - DAY)
			redis.call('ZREMRANGEBYSCORE', uq, '-inf', now - DAY)
			pruned[p] = true
		end
		local function budget(limit, window, reason)
			local n = redis.call('ZCOUNT', ph, '(' .. (now - window), '+inf')
			if n >= limit then
				local e = redis.call('ZRANGEBYSCORE', ph, '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
				return { 0, reason, tonumber(e[2]) + window }
			end
			return nil
		end
		if q.hr then decision = budget(q.hr, HOUR, '${D.HOURLY_BUDGET}') end
		if not decision and q.dy then decision = budget(q.dy, DAY, '${D.DAILY_BUDGET}') end
		if not decision and q.uq and not redis.call('ZSCORE', uq, c) then
			local n = redis.call('ZCARD', uq)
			if n >= q.uq then
				local e = redis.call('ZRANGE', uq, 0, 0, 'WITHSCORES')
				decision = { 0, '${D.UNIQUE_CONTACTS_LIMIT}', tonumber(e[2]) + DAY }
			end
		end
	end

	-- Spend budgets: this message's estimated cost on top of the day's and the campaign's (free ones fit).
	local sd = q.sday and (P .. 'sd:' .. p .. ':' .. q.sday) or nil
	local sg = q.sg and (P .. 'sg:' .. q.sg) or nil
	if not decision and q.sm and q.sm > 0 then
		if q.spd and sd and tonumber(redis.call('GET', sd) or '0') + q.sm > q.spd then
			decision = { 0, '${D.SPEND_BUDGET}', q.snext }
		elseif q.spc and sg and tonumber(redis.call('GET', sg) or '0') + q.sm > q.spc then
			decision = { 0, '${D.SPEND_BUDGET}', 'none' }
		end
	end

	if decision then
		results[i] = { 0, decision[2], tostring(decision[3]) }
	elseif q.dry then
		results[i] = { 1 }
	else
		local id = q.id
		redis.call('HSET', P .. 'res:' .. id, 'c', c, 'k', k, 'p', p, 'at', now, 'x', now + q.ttl)
		redis.call('HSET', P .. 'res:' .. id, 'o', owner)
		if q.sm and q.sm > 0 then
			redis.call('HSET', P .. 'res:' .. id, 'm', q.sm, 'sd', sd)
			if sg then redis.call('HSET', P .. 'res:' .. id, 'sg', sg) end
			redis.call('INCRBY', sd, q.sm)
			redis.call('PEXPIRE', sd, q.snext - now + DAY)
			if sg then
				redis.call('INCRBY', sg, q.sm)
				redis.call('PEXPIRE', sg, RETENTION)
			end
		end
		redis.call('SADD', P .. 'or:' .. owner, id)
		redis.call('PEXPIRE', P .. 'or:' .. owner, RETENTION)
		redis.call('PEXPIRE', P .. 'res:' .. id, RETENTION)
		for _, key in ipairs({ ck, P .. 'ca:' .. c }) do
			redis.call('ZADD', key, now, id)
			redis.call('ZREMRANGEBYSCORE', key, '-inf', now - RETENTION)
			redis.call('PEXPIRE', key, RETENTION)
		end
		redis.call('ZADD', ph, now, id)
		redis.call('PEXPIRE', ph, PHONE_TTL)
		redis.call('ZADD', uq, 'GT', now, c)
		redis.call('PEXPIRE', uq, PHONE_TTL)
		redis.call('ZADD', P .. 'rx', now + q.ttl, id)
		results[i] = { 1, id }
	end
end
return cjson.encode(results)
`,
	/** ARGV: prefix, reservation id, time of the send. Returns 1 when the reservation existed. */
	confirm: `${SPEND_COUNTS}
local P, id, at = ARGV[1], ARGV[2], tonumber(ARGV[3])
local r = redis.call('HMGET', P .. 'res:' .. id, 'c', 'k', 'p', 'o', 'x')
local c, k, p = r[1], r[2], r[3]
if not c then return 0 end
-- a lapsed reservation (taken off the counts) confirmed late counts again
if r[5] == '-1' then spendCounts(P, id, 1) end
-- a sent message is nobody's reservation any more: no lease decides about it
if r[4] then redis.call('SREM', P .. 'or:' .. r[4], id) end
redis.call('HSET', P .. 'res:' .. id, 'at', at, 'x', '0')
redis.call('PEXPIRE', P .. 'res:' .. id, ${SEND_LOG_RETENTION_MS})
redis.call('ZREM', P .. 'rx', id)
redis.call('ZADD', P .. 'ck:' .. c .. ':' .. k, at, id)
redis.call('ZADD', P .. 'ca:' .. c, at, id)
redis.call('ZADD', P .. 'ph:' .. p, at, id)
redis.call('ZADD', P .. 'uq:' .. p, 'GT', at, c)
return 1
`,
	/** ARGV: prefix, reservation id. Frees an unconfirmed reservation's slot. */
	release: `${REMOVE_ENTRY}
local P, id = ARGV[1], ARGV[2]
local x = redis.call('HGET', P .. 'res:' .. id, 'x')
if not x or x == '0' then return 0 end
return removeEntry(P, id, false)
`,
};

export class RedisFrequencyCaps implements FrequencyCapStore {
	private readonly client: RedisClient;
	/** This process, as the owner of the reservations it makes (core/retention.ts, RESERVATION_LEASE_MS). */
	private readonly owner: string;
	/** Renews this process's lease from its first reservation on; stopped when the store closes. */
	readonly lease = new LeaseRenewal((now) => this.renewLease(now));

	constructor(client: RedisClient, owner: string) {
		this.client = client;
		this.owner = owner;
	}

	/** Keeps this process's reservations holding (called on a timer while the store is open). */
	async renewLease(now: number): Promise<void> {
		await this.client.run((redis) => redis.hset(`${this.client.prefix}co`, this.owner, now + RESERVATION_LEASE_MS));
	}

	async reserve(requests: CapRequest[], now: number): Promise<CapDecision[]> {
		const decisions: CapDecision[] = [];
		await this.client.run(async (redis) => {
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
					if (r.spend) {
						const { units, day, nextDay, perDay, perCampaign, campaignId } = r.spend;
						Object.assign(q, { sm: units, sday: day, snext: nextDay });
						if (perDay !== undefined) q.spd = perDay;
						if (perCampaign !== undefined) q.spc = perCampaign;
						if (campaignId !== undefined) q.sg = campaignId;
					}
					return q;
				});
				this.lease.start();
				const raw = (await redis.reserve(this.client.prefix, now, JSON.stringify(part), this.owner)) as string;
				for (const [allowed, detail, next] of JSON.parse(raw) as Array<[number, string?, string?]>) {
					if (allowed) decisions.push(detail ? { allowed: true, reservationId: detail } : { allowed: true });
					else
						decisions.push({
							allowed: false,
							reason: detail as CapDenial,
							nextAllowedAt: next === 'none' ? null : Number(next),
						});
				}
			}
		});
		return decisions;
	}

	async confirmReservation(reservationId: string, at: number): Promise<boolean> {
		return Number(await this.client.run((redis) => redis.confirm(this.client.prefix, reservationId, at))) === 1;
	}

	async releaseReservation(reservationId: string): Promise<boolean> {
		return Number(await this.client.run((redis) => redis.release(this.client.prefix, reservationId))) === 1;
	}
}
