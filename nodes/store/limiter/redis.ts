/**
 * The throughput limiter in Redis: core/throughput.ts#gcraSlots and #departureWait in Lua, on Redis'
 * own clock (workers' clocks may differ). The SQLite half runs them itself: ./sqlite.ts. Keys:
 * `lm:<phone>` the next slot, `dw:<phone>` the number's departures in the last window.
 */
import { LIMITER_STATE_TTL_MS } from '../../core/retention';
import { assertRate } from '../../core/throughput';
import type { RedisClient } from '../redis/client';
import type { Departure, SendLimiter, SendSlots } from '../types';

export const LIMITER_SCRIPTS = {
	/** ARGV: prefix, phone, rate per second, count. Returns {now, waits…}. */
	acquireSlots: `
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
redis.call('SET', key, ms(start + count * interval), 'PX', ${LIMITER_STATE_TTL_MS})
return out
`,
	/**
	 * ARGV: prefix, phone, limit, window ms, the ticket replaced ('' for none). Returns { 0, ticket }
	 * (departure recorded) or { ms to wait }.
	 */
	admitDeparture: `
local key = ARGV[1] .. 'dw:' .. ARGV[2]
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[5] ~= '' then redis.call('ZREM', key, ARGV[5]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.4f', now - window))
local count = redis.call('ZCARD', key)
if count < limit then
	local ticket = string.format('%.4f', now) .. ':' .. redis.call('INCR', key .. ':n')
	redis.call('ZADD', key, string.format('%.4f', now), ticket)
	redis.call('PEXPIRE', key, math.ceil(window * 2))
	redis.call('PEXPIRE', key .. ':n', math.ceil(window * 2))
	return { 0, ticket }
end
local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
return { math.ceil(math.min(window, math.max(1, oldest + window - now))) }
`,
};

export class RedisSendLimiter implements SendLimiter {
	private readonly client: RedisClient;

	constructor(client: RedisClient) {
		this.client = client;
	}

	async acquireSendSlots(phoneNumberId: string, ratePerSecond: number, count: number): Promise<SendSlots> {
		assertRate(ratePerSecond);
		const [now, ...waits] = (await this.client.run((redis) =>
			redis.acquireSlots(this.client.prefix, phoneNumberId, ratePerSecond, count),
		)) as string[];
		return { now: Number(now), waits: waits.map(Number) };
	}

	async admitDeparture(phoneNumberId: string, limit: number, windowMs: number, replacing?: string): Promise<Departure> {
		const [wait, ticket] = (await this.client.run((redis) =>
			redis.admitDeparture(this.client.prefix, phoneNumberId, limit, windowMs, replacing ?? ''),
		)) as [number, string?];
		return { wait: Number(wait), ...(ticket ? { ticket } : {}) };
	}
}
