/** Each campaign's sends in SQLite, table `campaign_sends` (the Redis half: ./redis.ts). */
import { CLAIM_STATES, type ClaimResult, type SendState } from '../../core/types';
import { chunks, placeholders, type SqliteDatabase } from '../sqlite/database';
import type { SendLog } from '../types';

const { sending: SENDING, sent: SENT, in_doubt: IN_DOUBT } = CLAIM_STATES;

export class SqliteSendLog implements SendLog {
	private readonly db: SqliteDatabase;

	constructor(db: SqliteDatabase) {
		this.db = db;
	}

	async claimSend(
		campaignId: string,
		contactKey: string,
		now: number,
		claimTtlMs: number,
		owner: string,
	): Promise<ClaimResult> {
		return this.db.write(() => {
			const row = this.db
				.statement(
					'SELECT state, message_id, at, claim_expires_at, owner FROM campaign_sends WHERE campaign = ? AND contact = ?',
				)
				.get(campaignId, contactKey) as
				| {
						state: string;
						message_id: string | null;
						at: number;
						claim_expires_at: number | null;
						owner: string | null;
				  }
				| undefined;
			if (row?.state === SENT) return { state: 'sent', messageId: row.message_id ?? undefined, at: row.at };
			if (row?.state === IN_DOUBT) return { state: 'in_doubt', at: row.at };
			// Its own claim (a retry) the owner takes again; another's request on the wire it leaves alone.
			if (row?.state === SENDING && row.owner !== owner && (row.claim_expires_at ?? 0) > now)
				return { state: 'in_flight', at: row.at };
			this.db
				.statement(
					'INSERT INTO campaign_sends (campaign, contact, state, at, claim_expires_at, owner) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign, contact) DO UPDATE SET state = excluded.state, at = excluded.at, claim_expires_at = excluded.claim_expires_at, owner = excluded.owner',
				)
				.run(campaignId, contactKey, SENDING, now, now + claimTtlMs, owner);
			return { state: 'claimed' };
		});
	}

	async sendStates(campaignId: string, contactKeys: string[], now: number): Promise<Map<string, SendState>> {
		const states = new Map<string, SendState>();
		for (const chunk of chunks(contactKeys)) {
			const rows = this.db
				.statement(
					`SELECT contact, state, message_id, at, claim_expires_at FROM campaign_sends WHERE campaign = ? AND contact IN (${placeholders(chunk.length)}) AND state IN ('${SENT}', '${SENDING}', '${IN_DOUBT}')`,
				)
				.all(campaignId, ...chunk) as Array<{
				contact: string;
				state: string;
				message_id: string | null;
				at: number;
				claim_expires_at: number | null;
			}>;
			for (const row of rows) {
				if (row.state === SENT)
					states.set(row.contact, { state: 'sent', messageId: row.message_id ?? undefined, at: row.at });
				else if (row.state === IN_DOUBT) states.set(row.contact, { state: 'in_doubt', at: row.at });
				else if ((row.claim_expires_at ?? 0) > now) states.set(row.contact, { state: 'in_flight', at: row.at });
			}
		}
		return states;
	}

	async completeSend(campaignId: string, contactKey: string, messageId: string, at: number): Promise<void> {
		return this.db.guard(() => {
			this.db
				.statement(
					`INSERT INTO campaign_sends (campaign, contact, state, message_id, at) VALUES (?, ?, '${SENT}', ?, ?) ON CONFLICT (campaign, contact) DO UPDATE SET state = '${SENT}', message_id = excluded.message_id, at = excluded.at, claim_expires_at = NULL`,
				)
				.run(campaignId, contactKey, messageId, at);
		});
	}

	async lastSend(contactKey: string): Promise<{ campaignId: string; messageId?: string; at: number } | undefined> {
		const row = this.db
			.statement(
				`SELECT campaign, message_id, at FROM campaign_sends WHERE contact = ? AND state = '${SENT}' ORDER BY at DESC LIMIT 1`,
			)
			.get(contactKey) as { campaign: string; message_id: string | null; at: number } | undefined;
		return row ? { campaignId: row.campaign, messageId: row.message_id ?? undefined, at: row.at } : undefined;
	}

	async markInDoubt(campaignId: string, contactKey: string, owner: string, at: number): Promise<void> {
		this.db.guard(() =>
			this.db
				.statement(
					`UPDATE campaign_sends SET state = '${IN_DOUBT}', at = ?, claim_expires_at = NULL WHERE campaign = ? AND contact = ? AND state = '${SENDING}' AND owner = ?`,
				)
				.run(at, campaignId, contactKey, owner),
		);
	}

	async releaseInDoubt(campaignId: string, contactKey: string): Promise<boolean> {
		return this.db.guard(
			() =>
				Number(
					this.db
						.statement(`DELETE FROM campaign_sends WHERE campaign = ? AND contact = ? AND state = '${IN_DOUBT}'`)
						.run(campaignId, contactKey).changes,
				) > 0,
		);
	}

	async releaseClaim(campaignId: string, contactKey: string, owner: string): Promise<void> {
		return this.db.guard(() => {
			this.db
				.statement(
					`DELETE FROM campaign_sends WHERE campaign = ? AND contact = ? AND state = '${SENDING}' AND owner = ?`,
				)
				.run(campaignId, contactKey, owner);
		});
	}
}
