/**
 * Frequency caps in SQLite: core's decideCap run inside the write transaction, over the `send_log`
 * table (the Redis half, the same rule in Lua: ./redis.ts).
 */
import { decideCap } from '../../core/frequencyCaps';
import { EXPIRED_RESERVATION_GRACE_MS, RESERVATION_LEASE_MS, SEND_LOG_RETENTION_MS } from '../../core/retention';
import { DAY_MS, HOUR_MS } from '../../core/time';
import type { CapDecision, CapRequest } from '../../core/types';
import type { SqliteDatabase } from '../sqlite/database';
import type { FrequencyCapStore } from '../types';
import { LeaseRenewal } from './leases';

/** Old sends are pruned once every this many reserving batches. */
const PRUNE_EVERY = 200;

export class SqliteFrequencyCaps implements FrequencyCapStore {
	private batchesSincePrune = 0;

	private readonly db: SqliteDatabase;

	/** This process, as the owner of the reservations it makes (see RESERVATION_LEASE_MS). */
	private readonly owner: string;
	/** Renews this process's lease from its first reservation on; stopped when the store closes. */
	readonly lease = new LeaseRenewal((now) => this.renewLease(now));

	constructor(db: SqliteDatabase, owner: string) {
		this.db = db;
		this.owner = owner;
	}

	/** Keeps this process's reservations holding (called on a timer while the store is open). */
	async renewLease(now: number): Promise<void> {
		this.db.write(() => this.writeLease(now));
	}

	private writeLease(now: number) {
		this.db
			.statement(
				'INSERT INTO cap_owners (owner, until) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET until = max(until, excluded.until)',
			)
			.run(this.owner, now + RESERVATION_LEASE_MS);
	}

	/** The unconfirmed reservations of processes whose lease lapsed (killed) stop holding anyone back. */
	private reapDeadOwners(now: number) {
		// Never this process's own: it is alive, whatever clock `now` is read from.
		const dead = this.db
			.statement('SELECT owner FROM cap_owners WHERE until <= ? AND owner <> ?')
			.all(now, this.owner) as Array<{ owner: string }>;
		for (const { owner } of dead) {
			this.db.statement('DELETE FROM send_log WHERE confirmed = 0 AND owner = ?').run(owner);
			this.db.statement('DELETE FROM cap_owners WHERE owner = ?').run(owner);
		}
	}

	async reserve(requests: CapRequest[], now: number): Promise<CapDecision[]> {
		const LIVE = '(confirmed = 1 OR expires_at > ?)';
		const db = this.db;
		const contactTimes = db.statement(
			`SELECT at, confirmed, expires_at FROM send_log INDEXED BY send_log_contact WHERE contact = ? AND category = ? AND at > ? AND ${LIVE} ORDER BY at`,
		);
		const holdOf = db.statement('SELECT hold_until FROM contact_facts WHERE contact = ?');
		const phoneCount = db.statement(`SELECT COUNT(*) AS n FROM send_log WHERE phone = ? AND at > ? AND ${LIVE}`);
		const phoneNth = db.statement(
			`SELECT at FROM send_log WHERE phone = ? AND at > ? AND ${LIVE} ORDER BY at DESC LIMIT 1 OFFSET ?`,
		);
		const uniqueCount = db.statement(
			`SELECT COUNT(DISTINCT contact) AS n FROM send_log WHERE phone = ? AND at > ? AND ${LIVE}`,
		);
		const reached = db.statement(
			`SELECT 1 FROM send_log INDEXED BY send_log_contact WHERE contact = ? AND phone = ? AND at > ? AND ${LIVE} LIMIT 1`,
		);
		const earliestUnique = db.statement(
			`SELECT MIN(latest) AS t FROM (SELECT MAX(at) AS latest FROM send_log WHERE phone = ? AND at > ? AND ${LIVE} GROUP BY contact)`,
		);
		const insert = db.statement(
			'INSERT INTO send_log (phone, contact, category, at, confirmed, expires_at, owner, cost, spend_day, campaign) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)',
		);
		// A reservation's spend day never follows it: confirming moves `at` later, never before the day.
		const daySpend = db.statement(
			`SELECT COALESCE(SUM(cost), 0) AS n FROM send_log WHERE phone = ? AND at >= ? AND spend_day = ? AND ${LIVE}`,
		);
		const campaignSpend = db.statement(
			`SELECT COALESCE(SUM(cost), 0) AS n FROM send_log INDEXED BY send_log_campaign WHERE campaign = ? AND campaign IS NOT NULL AND ${LIVE}`,
		);
		const since24h = now - DAY_MS;

		return db.write(() => {
			this.reapDeadOwners(now);
			this.writeLease(now);
			this.lease.start();
			// Phone-wide counts are read once per batch and kept current as the batch reserves: the write
			// lock is held throughout, so nobody else can change them meanwhile. SQLite counts; only the
			// time a slot frees up is looked up, and only when a budget is full.
			const phones = new Map<string, { hour: number; day: number; unique: number }>();
			// Spend totals likewise, per number and spend day and per campaign, read when a budget asks.
			const spentOnDay = new Map<string, number>();
			const spentOnCampaign = new Map<string, number>();
			const spendKeys = (request: CapRequest) => {
				const spend = request.spend;
				if (!spend) return {};
				const day = spend.perDay !== undefined ? `${request.phoneNumberId}|${spend.day}` : undefined;
				if (day !== undefined && !spentOnDay.has(day))
					spentOnDay.set(day, (daySpend.get(request.phoneNumberId, spend.day, spend.day, now) as { n: number }).n);
				const campaign = spend.perCampaign !== undefined ? spend.campaignId : undefined;
				if (campaign !== undefined && !spentOnCampaign.has(campaign))
					spentOnCampaign.set(campaign, (campaignSpend.get(campaign, now) as { n: number }).n);
				return { day, campaign };
			};
			const phoneFacts = (phone: string) => {
				let facts = phones.get(phone);
				if (!facts) {
					facts = {
						hour: (phoneCount.get(phone, now - HOUR_MS, now) as { n: number }).n,
						day: (phoneCount.get(phone, since24h, now) as { n: number }).n,
						unique: (uniqueCount.get(phone, since24h, now) as { n: number }).n,
					};
					phones.set(phone, facts);
				}
				return facts;
			};

			const decisions = requests.map((request) => {
				const window = Math.max(request.rule?.windowMs ?? 0, request.rule?.minGapMs ?? 0);
				const budgets = request.budgets ?? {};
				const phone = request.phoneNumberId;
				const usesPhone =
					budgets.messagesPerHour !== undefined ||
					budgets.messagesPerDay !== undefined ||
					budgets.uniqueContactsPer24h !== undefined;
				const counts = usesPhone ? phoneFacts(phone) : { hour: 0, day: 0, unique: 0 };
				const alreadyReached =
					budgets.uniqueContactsPer24h !== undefined &&
					reached.get(request.contactKey, phone, since24h, now) !== undefined;
				const hold = holdOf.get(request.contactKey) as { hold_until: number | null } | undefined;
				const rows = request.rule
					? (contactTimes.all(request.contactKey, request.category, now - window, now) as Array<{
							at: number;
							confirmed: number;
							expires_at: number | null;
						}>)
					: [];
				const spent = spendKeys(request);
				const confirmed = rows.filter((r) => r.confirmed === 1);
				const pending = rows.filter((r) => r.confirmed === 0);
				const decision = decideCap(
					request,
					{
						contactTimes: rows.map((r) => r.at),
						lastConfirmed: confirmed.at(-1)?.at,
						pendingUntil: pending.length ? Math.max(...pending.map((r) => r.expires_at ?? 0)) : undefined,
						holdUntil: hold?.hold_until ?? undefined,
						phoneLastHour: counts.hour,
						phoneLast24h: counts.day,
						phoneNthLatest: (n) => (phoneNth.get(phone, since24h, now, n - 1) as { at: number }).at,
						uniqueReached: counts.unique,
						contactAlreadyReached: alreadyReached,
						earliestUniqueExpiry: () => (earliestUnique.get(phone, since24h, now) as { t: number }).t + DAY_MS,
						spendToday: spent.day !== undefined ? spentOnDay.get(spent.day) : undefined,
						campaignSpend: spent.campaign !== undefined ? spentOnCampaign.get(spent.campaign) : undefined,
					},
					now,
				);
				if (!decision.allowed || request.dryRun) return decision;
				const cached = phones.get(phone);
				// Asked before the insert, which would otherwise find itself.
				const wasReached =
					budgets.uniqueContactsPer24h !== undefined
						? alreadyReached
						: cached !== undefined && reached.get(request.contactKey, phone, since24h, now) !== undefined;
				const spend = request.spend;
				const cost = spend?.units ?? 0;
				const reservationId = `r${
					insert.run(
						phone,
						request.contactKey,
						request.category,
						now,
						now + request.reservationTtlMs,
						this.owner,
						cost,
						spend ? spend.day : null,
						spend?.campaignId ?? null,
					).lastInsertRowid
				}`;
				if (spent.day !== undefined) spentOnDay.set(spent.day, spentOnDay.get(spent.day)! + cost);
				if (spent.campaign !== undefined)
					spentOnCampaign.set(spent.campaign, spentOnCampaign.get(spent.campaign)! + cost);
				if (cached) {
					cached.hour++;
					cached.day++;
					if (!wasReached) cached.unique++;
				}
				return { allowed: true as const, reservationId };
			});
			this.pruneNow(now);
			return decisions;
		});
	}

	async confirmReservation(reservationId: string, at: number): Promise<boolean> {
		return this.db.guard(() => {
			const id = reservationRowId(reservationId);
			if (id === undefined) return false;
			const confirm = this.db.statement('UPDATE send_log SET confirmed = 1, at = ?, expires_at = NULL WHERE id = ?');
			return Number(confirm.run(at, id).changes) > 0;
		});
	}

	async releaseReservation(reservationId: string): Promise<boolean> {
		return this.db.guard(() => {
			const id = reservationRowId(reservationId);
			if (id === undefined) return false;
			return Number(this.db.statement('DELETE FROM send_log WHERE id = ? AND confirmed = 0').run(id).changes) > 0;
		});
	}

	/** Old sends and long-expired reservations, every few hundred batches (inside the batch's transaction). */
	private pruneNow(now: number) {
		if (++this.batchesSincePrune < PRUNE_EVERY) return;
		this.batchesSincePrune = 0;
		this.db
			.statement('DELETE FROM send_log WHERE at < ? OR (confirmed = 0 AND expires_at < ?)')
			.run(now - SEND_LOG_RETENTION_MS, now - EXPIRED_RESERVATION_GRACE_MS);
	}
}

/** Reservation ids are `r<rowid>`; anything else (say, an id from a Redis store) matches nothing. */
function reservationRowId(reservationId: string): number | undefined {
	const match = /^r(\d+)$/.exec(reservationId);
	return match ? Number(match[1]) : undefined;
}
