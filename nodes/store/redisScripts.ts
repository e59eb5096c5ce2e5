/**
 * Lua scripts of the Redis store. Each runs atomically inside Redis, so several n8n workers can share
 * one store without read-then-write races. ARGV[1] is always the key prefix.
 *
 * Time values are milliseconds since the epoch. Numbers that may carry fractions travel back as
 * strings (Redis truncates Lua numbers to integers in replies).
 */

/** Removes a reservation from the live sets; `keep` leaves its hash so a late confirmation still works. */
const REMOVE_ENTRY = `
local function removeEntry(P, id, keep)
	local r = redis.call('HMGET', P .. 'res:' .. id, 'c', 'k', 'p')
	redis.call('ZREM', P .. 'rx', id)
	local c, k, p = r[1], r[2], r[3]
	if not c then return 0 end
	redis.call('ZREM', P .. 'ck:' .. c .. ':' .. k, id)
	redis.call('ZREM', P .. 'ca:' .. c, id)
	redis.call('ZREM', P .. 'ph:' .. p, id)
	if keep then
		redis.call('HSET', P .. 'res:' .. id, 'x', '-1')
		redis.call('PEXPIRE', P .. 'res:' .. id, 86400000)
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

const RETENTION = 35 * 86_400_000;

/**
 * Check-and-reserve for a batch. Mirrors nodes/core/frequencyCaps.ts#decideCap: same checks, same
 * order, same half-open windows. ARGV: prefix, now, JSON requests.
 */
export const RESERVE = `${REMOVE_ENTRY}
local P = ARGV[1]
local now = tonumber(ARGV[2])
local requests = cjson.decode(ARGV[3])
local DAY, HOUR, RETENTION = 86400000, 3600000, ${RETENTION}

for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'rx', '-inf', now)) do removeEntry(P, id, true) end

local pruned = {}
local results = {}
for i, q in ipairs(requests) do
	local c, k, p = q.c, q.k, q.p
	local decision = nil
	local hold = tonumber(redis.call('HGET', P .. 'cf:' .. c, 'h') or '0')
	if hold > now then decision = { 0, 'META_HOLD', hold } end

	local ck = P .. 'ck:' .. c .. ':' .. k
	if not decision and q.win then
		local last = redis.call('ZREVRANGE', ck, 0, 0, 'WITHSCORES')
		if q.gap > 0 and #last > 0 and now - tonumber(last[2]) < q.gap then
			decision = { 0, 'MIN_GAP', tonumber(last[2]) + q.gap }
		end
		if not decision and q.max > 0 then
			local times = redis.call('ZRANGEBYSCORE', ck, '(' .. (now - q.win), '+inf', 'WITHSCORES')
			local n = #times / 2
			if n >= q.max then decision = { 0, 'CONTACT_CAP', tonumber(times[(n - q.max) * 2 + 2]) + q.win } end
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
		if q.hr then decision = budget(q.hr, HOUR, 'HOURLY_BUDGET') end
		if not decision and q.dy then decision = budget(q.dy, DAY, 'DAILY_BUDGET') end
		if not decision and q.uq and not redis.call('ZSCORE', uq, c) then
			local n = redis.call('ZCARD', uq)
			if n >= q.uq then
				local e = redis.call('ZRANGE', uq, 0, 0, 'WITHSCORES')
				decision = { 0, 'UNIQUE_CONTACTS_LIMIT', tonumber(e[2]) + DAY }
			end
		end
	end

	if decision then
		results[i] = { 0, decision[2], tostring(decision[3]) }
	elseif q.dry then
		results[i] = { 1 }
	else
		local id = q.id
		redis.call('HSET', P .. 'res:' .. id, 'c', c, 'k', k, 'p', p, 'at', now, 'x', now + q.ttl)
		redis.call('PEXPIRE', P .. 'res:' .. id, RETENTION)
		for _, key in ipairs({ ck, P .. 'ca:' .. c }) do
			redis.call('ZADD', key, now, id)
			redis.call('ZREMRANGEBYSCORE', key, '-inf', now - RETENTION)
			redis.call('PEXPIRE', key, RETENTION)
		end
		redis.call('ZADD', ph, now, id)
		redis.call('PEXPIRE', ph, DAY + HOUR)
		redis.call('ZADD', uq, 'GT', now, c)
		redis.call('PEXPIRE', uq, DAY + HOUR)
		redis.call('ZADD', P .. 'rx', now + q.ttl, id)
		results[i] = { 1, id }
	end
end
return cjson.encode(results)
`;

/** ARGV: prefix, reservation id, time of the send. Returns 1 when the reservation existed. */
export const CONFIRM = `
local P, id, at = ARGV[1], ARGV[2], tonumber(ARGV[3])
local r = redis.call('HMGET', P .. 'res:' .. id, 'c', 'k', 'p')
local c, k, p = r[1], r[2], r[3]
if not c then return 0 end
redis.call('HSET', P .. 'res:' .. id, 'at', at, 'x', '0')
redis.call('PEXPIRE', P .. 'res:' .. id, ${RETENTION})
redis.call('ZREM', P .. 'rx', id)
redis.call('ZADD', P .. 'ck:' .. c .. ':' .. k, at, id)
redis.call('ZADD', P .. 'ca:' .. c, at, id)
redis.call('ZADD', P .. 'ph:' .. p, at, id)
redis.call('ZADD', P .. 'uq:' .. p, 'GT', at, c)
return 1
`;

/** ARGV: prefix, reservation id. Frees an unconfirmed reservation's slot. */
export const RELEASE = `${REMOVE_ENTRY}
local P, id = ARGV[1], ARGV[2]
local x = redis.call('HGET', P .. 'res:' .. id, 'x')
if not x or x == '0' then return 0 end
return removeEntry(P, id, false)
`;

/*
 * Send claims are one hash field per recipient: "state|at|extra|owner", state claimed, sending or sent;
 * extra is the claim's expiry, or the message id once sent.
 */
const PARSE_CLAIM = `local function parseClaim(v)
	if not v then return nil end
	local state, at, extra, owner = string.match(v, '^(%a+)|([^|]*)|([^|]*)|?(.*)$')
	return state, at, extra, owner
end
`;

/** ARGV: prefix, campaign, contact, now, claim ttl, owner, state to set (claimed or sending). Returns {state, at, extra}. */
export const CLAIM = `${PARSE_CLAIM}
local P, campaign, contact, now, ttl, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local as = ARGV[7] == 'sending' and 'sending' or 'claimed'
local key = P .. 'cl:' .. campaign
local state, at, extra, holder = parseClaim(redis.call('HGET', key, contact))
if state == 'sent' then return { 'sent', at, extra } end
-- Its own claim (a retry) the owner takes again; another's request on the wire it leaves alone.
if state == 'sending' and holder ~= owner and tonumber(extra) > now then return { 'in_flight', at, '' } end
redis.call('HSET', key, contact, as .. '|' .. now .. '|' .. (now + ttl) .. '|' .. owner)
return { 'claimed', tostring(now), '' }
`;

/** ARGV: prefix, campaign, contact, owner, now, ttl. 1 when the owner's claim moved to sending. */
export const START_SEND = `${PARSE_CLAIM}
local P, campaign, contact, owner, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local key = P .. 'cl:' .. campaign
local state, _, _, holder = parseClaim(redis.call('HGET', key, contact))
if state ~= 'claimed' or holder ~= owner then return 0 end
redis.call('HSET', key, contact, 'sending|' .. now .. '|' .. (now + ttl) .. '|' .. owner)
return 1
`;

/** ARGV: prefix, campaign, contact, owner. Deletes the owner's claim unless the message was sent. */
export const RELEASE_CLAIM = `${PARSE_CLAIM}
local key = ARGV[1] .. 'cl:' .. ARGV[2]
local state, _, _, holder = parseClaim(redis.call('HGET', key, ARGV[3]))
if (state == 'claimed' or state == 'sending') and holder == ARGV[4] then redis.call('HDEL', key, ARGV[3]) return 1 end
return 0
`;

/** GCRA on Redis' own clock (workers' clocks may differ). ARGV: prefix, phone, rate per second, count. Returns {now, waits…}. */
export const ACQUIRE_SLOTS = `
local key = ARGV[1] .. 'lm:' .. ARGV[2]
local rate, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = 1000 / rate
local start = math.max(tonumber(redis.call('GET', key) or now), now)
-- tostring() keeps 14 significant digits: a millisecond timestamp has 13, so fractions would be lost
-- and slots would drift. Format times explicitly.
local function ms(x) return string.format('%.4f', x) end
local out = { ms(now) }
for i = 0, count - 1 do out[i + 2] = ms(start - now + i * interval) end
redis.call('SET', key, ms(start + count * interval), 'PX', 86400000)
return out
`;

/**
 * One consent event: appended to the ledger, with the suppression it implies. ARGV: prefix, contact,
 * action, category, event JSON (without id), at, JSON list of categories the scope expands to.
 */
export const RECORD_CONSENT = `
local P, contact, action, category, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local event = cjson.decode(ARGV[5])
event.id = redis.call('INCR', P .. 'evseq')
redis.call('RPUSH', P .. 'ev:' .. contact, cjson.encode(event))
local sp = P .. 'sp:' .. contact
for _, each in ipairs(cjson.decode(ARGV[7])) do
	local current = redis.call('HGET', sp, each)
	local existing = current and cjson.decode(current)
	if action == 'opt_out' then
		if not existing or at >= existing.at then redis.call('HSET', sp, each, cjson.encode({ reason = 'OPTED_OUT', at = at })) end
	elseif existing and (existing.reason == 'OPTED_OUT' or existing.reason == 'IMPORTED') and existing.at <= at then
		redis.call('HDEL', sp, each)
	end
end
return event.id
`;

/** ARGV: prefix, contact, reason, at, JSON categories. A newer suppression replaces an older one. */
export const SUPPRESS = `
local P, contact, reason, at = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local sp = P .. 'sp:' .. contact
for _, each in ipairs(cjson.decode(ARGV[5])) do
	local current = redis.call('HGET', sp, each)
	if not current or at >= cjson.decode(current).at then redis.call('HSET', sp, each, cjson.encode({ reason = reason, at = at })) end
end
return 1
`;

/** ARGV: prefix, contact, at, JSON categories. Erases the ledger and facts, keeps (or adds) suppression. */
export const FORGET = `
local P, contact, at = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = redis.call('LLEN', P .. 'ev:' .. contact)
redis.call('DEL', P .. 'ev:' .. contact, P .. 'cf:' .. contact)
for _, each in ipairs(cjson.decode(ARGV[4])) do
	redis.call('HSETNX', P .. 'sp:' .. contact, each, cjson.encode({ reason = 'FORGOTTEN', at = at }))
end
return n
`;

/** ARGV: prefix, contact, field, value. Keeps the larger value (late webhook retries change nothing). */
export const FACT_MAX = `
local key = ARGV[1] .. 'cf:' .. ARGV[2]
local current = tonumber(redis.call('HGET', key, ARGV[3]) or '0')
if tonumber(ARGV[4]) > current then redis.call('HSET', key, ARGV[3], ARGV[4]) end
return 1
`;

/** ARGV: prefix, contact, JSON categories, JSON reasons. Removes suppressions held for those reasons. */
export const LIFT_SUPPRESSION = `
local sp = ARGV[1] .. 'sp:' .. ARGV[2]
local reasons = {}
for _, reason in ipairs(cjson.decode(ARGV[4])) do reasons[reason] = true end
for _, each in ipairs(cjson.decode(ARGV[3])) do
	local current = redis.call('HGET', sp, each)
	if current and reasons[cjson.decode(current).reason] then redis.call('HDEL', sp, each) end
end
return 1
`;
