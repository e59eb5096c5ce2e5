/**
 * Each campaign's sends in Redis (the SQLite half: ./sqlite.ts). `cl:<campaign>` holds one field per
 * recipient, "state|at|extra|owner" (extra: the claim's expiry, or the message id once sent), written
 * and read only here; `ls:<contact>` the contact's last send, for attributing a STOP.
 */
import { SEND_LOG_RETENTION_MS } from '../../core/retention';
import { CLAIM_STATES, type ClaimResult, type SendState } from '../../core/types';
import type { RedisClient } from '../redis/client';
import type { SendLog } from '../types';

const CHUNK = 1000;
const { sending: SENDING, sent: SENT, in_doubt: IN_DOUBT } = CLAIM_STATES;

const claimValue = (state: string, at: number, extra: string | number, owner: string) =>
	`${state}|${at}|${extra}|${owner}`;
const parseClaimValue = (value: string | null) => {
	const [state, at, extra] = (value ?? '').split('|');
	return { state, at: Number(at), extra };
};

const PARSE_CLAIM = `local function parseClaim(v)
	if not v then return nil end
	local state, at, extra, owner = string.match(v, '^([%a_]+)|([^|]*)|([^|]*)|?(.*)$')
	return state, at, extra, owner
end
`;

export const SEND_LOG_SCRIPTS = {
	/** ARGV: prefix, campaign, contact, now, claim ttl, owner. Returns {state, at, extra}. */
	claim: `${PARSE_CLAIM}
local P, campaign, contact, now, ttl, owner = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local key = P .. 'cl:' .. campaign
local state, at, extra, holder = parseClaim(redis.call('HGET', key, contact))
if state == '${SENT}' then return { 'sent', at, extra } end
if state == '${IN_DOUBT}' then return { 'in_doubt', at, '' } end
-- Its own claim (a retry) the owner takes again; another's request on the wire it leaves alone.
if state == '${SENDING}' and holder ~= owner and tonumber(extra) > now then return { 'in_flight', at, '' } end
redis.call('HSET', key, contact, '${SENDING}|' .. now .. '|' .. (now + ttl) .. '|' .. owner)
return { 'claimed', tostring(now), '' }
`,
	/** ARGV: prefix, campaign, contact, owner, at. The owner's claim becomes in_doubt (no expiry). */
	markInDoubt: `${PARSE_CLAIM}
local key = ARGV[1] .. 'cl:' .. ARGV[2]
local state, _, _, holder = parseClaim(redis.call('HGET', key, ARGV[3]))
if state == '${SENDING}' and holder == ARGV[4] then
	redis.call('HSET', key, ARGV[3], '${IN_DOUBT}|' .. ARGV[5] .. '||' .. ARGV[4])
	return 1
end
return 0
`,
	/** ARGV: prefix, campaign, contact. Deletes an in_doubt claim (an operator's release); 1 when it did. */
	releaseInDoubt: `${PARSE_CLAIM}
local key = ARGV[1] .. 'cl:' .. ARGV[2]
local state = parseClaim(redis.call('HGET', key, ARGV[3]))
if state == '${IN_DOUBT}' then redis.call('HDEL', key, ARGV[3]) return 1 end
return 0
`,
	/** ARGV: prefix, campaign, contact, owner. Deletes the owner's claim unless the message was sent. */
	releaseClaim: `${PARSE_CLAIM}
local key = ARGV[1] .. 'cl:' .. ARGV[2]
local state, _, _, holder = parseClaim(redis.call('HGET', key, ARGV[3]))
if state == '${SENDING}' and holder == ARGV[4] then redis.call('HDEL', key, ARGV[3]) return 1 end
return 0
`,
};

export class RedisSendLog implements SendLog {
	private readonly client: RedisClient;

	constructor(client: RedisClient) {
		this.client = client;
	}

	async claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
	): Promise<ClaimResult> {
		const [state, at, extra] = (await this.client.run((redis) =>
			redis.claim(this.client.prefix, campaignId, contactKey, now, claimTtlMs, owner),
		)) as string[];
		if (state === 'sent') return { state: 'sent', at: Number(at), messageId: extra || undefined };
		if (state === 'in_flight') return { state: 'in_flight', at: Number(at) };
		if (state === 'in_doubt') return { state: 'in_doubt', at: Number(at) };
		return { state: 'claimed' };
	}

	async sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>> {
		const states = new Map<string, SendState>();
		for (let i = 0; i < contactKeys.length; i += CHUNK) {
			const chunk = contactKeys.slice(i, i + CHUNK);
			const values = await this.client.run((redis) => redis.hmget(`${this.client.prefix}cl:${campaignId}`, ...chunk));
			values.forEach((value, index) => {
				const { state, at, extra } = parseClaimValue(value);
				if (state === SENT) states.set(chunk[index], { state: 'sent', at, messageId: extra || undefined });
				else if (state === IN_DOUBT) states.set(chunk[index], { state: 'in_doubt', at });
				else if (state === SENDING && Number(extra) > now) states.set(chunk[index], { state: 'in_flight', at });
			});
		}
		return states;
	}

	async completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void> {
		const P = this.client.prefix;
		await this.client.run((redis) =>
			redis
				.multi()
				.hset(`${P}cl:${campaignId}`, contactKey, claimValue(SENT, at, messageId, ''))
				.set(`${P}ls:${contactKey}`, JSON.stringify({ campaignId, messageId, at }), 'PX', SEND_LOG_RETENTION_MS)
				.exec(),
		);
	}

	async lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined> {
		const raw = await this.client.run((redis) => redis.get(`${this.client.prefix}ls:${contactKey}`));
		return raw ? (JSON.parse(raw) as { campaignId: string; messageId?: string; at: number }) : undefined;
	}

	async markInDoubt(campaignId: string, contactKey: string, owner: string, at: number): Promise<void> {
		await this.client.run((redis) => redis.markInDoubt(this.client.prefix, campaignId, contactKey, owner, at));
	}

	async releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void> {
		await this.client.run((redis) => redis.releaseClaim(this.client.prefix, campaignId, contactKey, owner));
	}

	async releaseInDoubt(campaignId: string, contactKey: string): Promise<boolean> {
		const released = await this.client.run((redis) => redis.releaseInDoubt(this.client.prefix, campaignId, contactKey));
		return Number(released) === 1;
	}
}
