/** The Redis store: one connection, offered by concern. For n8n in queue mode (several workers). */
import { randomUUID } from 'node:crypto';

import { RedisCampaignState } from './campaignState/redis';
import { CAP_SCRIPTS, RedisFrequencyCaps } from './caps/redis';
import { contactKeyer } from './contactKeys';
import { DEDUPE_SCRIPTS, RedisWebhookDedupe } from './dedupe/redis';
import { IDENTITY_SCRIPTS, RedisContactIdentities } from './identities/redis';
import { KnownLinks } from './identities/knownLinks';
import { LEDGER_SCRIPTS, RedisConsentLedger, RedisContactFacts } from './ledger/redis';
import { LIMITER_SCRIPTS, RedisSendLimiter } from './limiter/redis';
import { RedisClient, type RedisConnection } from './redis/client';
import { RedisSendLog, SEND_LOG_SCRIPTS } from './sendLog/redis';
import type { ComplianceStore } from './types';

export type { RedisConnection } from './redis/client';

/** Every concern's Lua, registered once on the connection. */
const SCRIPTS: Record<string, string> = {
	...IDENTITY_SCRIPTS,
	...LEDGER_SCRIPTS,
	...CAP_SCRIPTS,
	...SEND_LOG_SCRIPTS,
	...LIMITER_SCRIPTS,
	...DEDUPE_SCRIPTS,
};

export class RedisStore implements ComplianceStore {
	readonly kind = 'redis' as const;
	readonly location: string;
	readonly contactKey: (identifier: string) => string;
	readonly identities: RedisContactIdentities;
	readonly ledger: RedisConsentLedger;
	readonly facts: RedisContactFacts;
	readonly caps: RedisFrequencyCaps;
	readonly sends: RedisSendLog;
	readonly campaigns: RedisCampaignState;
	readonly limiter: RedisSendLimiter;
	readonly dedupe: RedisWebhookDedupe;

	private readonly client: RedisClient;

	private constructor(client: RedisClient) {
		this.client = client;
		this.location = client.location;
		this.contactKey = contactKeyer(client.secret);
		// One memory of seen links per store: Forget Contact (ledger) empties what identities remember.
		const knownLinks = new KnownLinks();
		this.identities = new RedisContactIdentities(client, knownLinks);
		this.ledger = new RedisConsentLedger(client, knownLinks);
		this.facts = new RedisContactFacts(client);
		this.caps = new RedisFrequencyCaps(client, randomUUID());
		this.sends = new RedisSendLog(client);
		this.campaigns = new RedisCampaignState(client);
		this.limiter = new RedisSendLimiter(client);
		this.dedupe = new RedisWebhookDedupe(client);
	}

	static async open(connection: RedisConnection): Promise<RedisStore> {
		return new RedisStore(await RedisClient.open(connection, SCRIPTS));
	}

	check(): Promise<void> {
		return this.client.check();
	}

	close(): Promise<void> {
		this.caps.lease.stop();
		return this.client.close();
	}
}
