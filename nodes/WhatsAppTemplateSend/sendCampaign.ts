/**
 * The send loop of WhatsApp Template Send, free of n8n: paced by the store's shared throughput
 * limiter, retried by Meta's error classes, idempotent per campaign, and stopped within half a second
 * of a pause set anywhere. Every prepared send ends in exactly one outcome.
 */
import { randomUUID } from 'node:crypto';

import { retryDelay, type RetryOptions } from '../core/retryPolicy';
import { stopsSending } from '../core/metaErrors';
import type { ComplianceStore, PauseScope, PauseState, SendState } from '../store/types';
import {
	GraphApiError,
	type GraphApiClient,
	type SendResult,
	type TemplateComponent,
} from '../transport/GraphApiClient';

export interface PreparedSend {
	itemIndex: number;
	contactKey: string;
	/** E.164 with `+`. */
	to: string;
	variant: 'A' | 'B';
	template: { name: string; language: string };
	components: TemplateComponent[];
	/** A Frequency Cap reservation to confirm on success or release on a permanent failure. */
	reservationId?: string;
}

export type NotSentReason = 'PAUSED' | 'ALREADY_SENT' | 'CAMPAIGN_STOPPED' | 'SUPPRESSED';

export type SendOutcome =
	| { kind: 'sent'; itemIndex: number; variant: 'A' | 'B'; result: SendResult; attempts: number; sentAt: number }
	| { kind: 'failed'; itemIndex: number; variant: 'A' | 'B'; error: GraphApiError; attempts: number }
	| { kind: 'not_sent'; itemIndex: number; reason: NotSentReason; detail?: string };

export interface CampaignOptions {
	campaignId: string;
	phoneNumberId: string;
	ratePerSecond: number;
	concurrency: number;
	retry: RetryOptions;
	/** How long a claim stays "in flight" before another execution may take the recipient again. */
	claimTtlMs: number;
	/** How often the pause flags are read (at most 500 ms for the half-second promise). */
	pauseCheckMs: number;
	progressEvery: number;
	onProgress?: (progress: {
		sent: number;
		failed: number;
		notSent: number;
		remaining: number;
		ratePerSecond: number;
	}) => void;
}

/** Share of the configured rate the shared limiter schedules (see acquireSendSlots below). */
export const PACING_HEADROOM = 0.97;
/**
 * Meta counts a number's messages per second as they arrive. Requests reach it a few ms apart from
 * when they left (network, the event loop); this much slack on the counting window absorbs that.
 */
export const WINDOW_GUARD_MS = 25;
/** Catching up after a stall: at most twice the rate, counted over this window. */
export const CATCH_UP_WINDOW_MS = 50;
/** Slots are taken from the shared limiter this many ms' worth at a time (one store call, not one per send). */
export const SLOT_BATCH_MS = 20;

/**
 * This process's departures, kept to at most `limit` in any window of 1 s + guard, whatever the timers
 * do. The shared limiter spaces requests evenly, but after the event loop stalls (n8n's own work, GC)
 * every slot that fell due during the stall is taken at once; without this cap such a burst, added to
 * the next second's schedule, is what Meta answers with 130429. A sliding log of the last `limit`
 * departure times: one more may leave once the oldest is a full window old.
 */
export class DepartureWindow {
	private readonly times: Float64Array;
	private readonly windowMs: number;
	/** Departures recorded so far; the next one goes to `recorded % limit`, over the oldest. */
	private recorded = 0;

	constructor(limit: number, windowMs = 1000 + WINDOW_GUARD_MS) {
		this.times = new Float64Array(Math.max(1, Math.floor(limit)));
		this.windowMs = windowMs;
	}

	/** Milliseconds until one more departure is allowed (0: now). */
	waitMs(now: number): number {
		if (this.recorded < this.times.length) return 0;
		return Math.max(0, this.times[this.recorded % this.times.length] + this.windowMs - now);
	}

	/** Counts a departure at `now`; returns its ticket for `departedAt`. */
	record(now: number): number {
		this.times[this.recorded % this.times.length] = now;
		return this.recorded++;
	}

	/**
	 * The departure really left at `at` (its request reached the socket): counted from then, if later.
	 * A request that waited for a new connection's handshake reaches Meta that much later, bunched
	 * with those behind it; counting it late keeps the window on what Meta sees.
	 */
	departedAt(ticket: number, at: number): void {
		// Entries older than the log's length have been overwritten and no longer count.
		if (this.recorded - ticket > this.times.length) return;
		const index = ticket % this.times.length;
		if (at > this.times[index]) this.times[index] = at;
	}
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sendCampaign(
	store: ComplianceStore,
	client: GraphApiClient,
	sends: PreparedSend[],
	options: CampaignOptions,
): Promise<SendOutcome[]> {
	const outcomes: SendOutcome[] = [];
	/** This run's identity in the claims: it may retry its own in-flight claims, nobody else may until they expire. */
	const owner = randomUUID();
	const departures = new DepartureWindow(options.ratePerSecond);
	// Slots missed during a stall are caught up at no more than twice the rate: a burst of them all at
	// once reaches Meta bunched (it reads them one after another), and a second later leaves this
	// process's window in one go too, so it would repeat every second.
	const catchUp = new DepartureWindow(
		Math.max(2, Math.ceil((2 * options.ratePerSecond * CATCH_UP_WINDOW_MS) / 1000)),
		CATCH_UP_WINDOW_MS,
	);
	const scopes: Array<{ scope: PauseScope; id: string }> = [
		{ scope: 'campaign', id: options.campaignId },
		{ scope: 'phone', id: options.phoneNumberId },
		{ scope: 'global', id: '*' },
		// Meta paused or disabled a template this run sends (the Delivery Monitor records it).
		...[...new Set(sends.map((send) => `${send.template.name}:${send.template.language}`))].map((id) => ({
			scope: 'template' as const,
			id,
		})),
	];
	let pause: PauseState | undefined = await store.activePause(scopes);
	let stopped: GraphApiError | undefined;
	const started = Date.now();
	const counts = { sent: 0, failed: 0, notSent: 0 };

	const finish = (outcome: SendOutcome) => {
		outcomes.push(outcome);
		if (outcome.kind === 'sent') counts.sent++;
		else if (outcome.kind === 'failed') counts.failed++;
		else counts.notSent++;
		const done = counts.sent + counts.failed + counts.notSent;
		if (options.onProgress && done % options.progressEvery === 0) {
			options.onProgress({
				...counts,
				remaining: sends.length - done,
				ratePerSecond: counts.sent / Math.max(0.001, (Date.now() - started) / 1000),
			});
		}
	};
	const haltReason = (): { reason: NotSentReason; detail?: string } | undefined => {
		if (stopped)
			return { reason: 'CAMPAIGN_STOPPED', detail: `Meta error ${stopped.code ?? ''}: ${stopped.message}`.trim() };
		if (pause) return { reason: 'PAUSED', detail: `${pause.scope} paused${pause.reason ? `: ${pause.reason}` : ''}` };
		return undefined;
	};

	// Slots from the shared limiter, as local times, taken a batch at a time by whichever worker finds none.
	const slotBatch = Math.max(1, Math.min(32, Math.ceil((options.ratePerSecond * SLOT_BATCH_MS) / 1000)));
	const slots: number[] = [];
	let refill: Promise<void> | undefined;
	const nextSlot = async (): Promise<number> => {
		while (slots.length === 0) {
			refill ??= store
				.acquireSendSlots(options.phoneNumberId, options.ratePerSecond * PACING_HEADROOM, slotBatch)
				.then(({ waits }) => {
					const received = Date.now();
					for (const wait of waits) slots.push(received + wait);
				})
				.finally(() => (refill = undefined));
			await refill;
		}
		return slots.shift()!;
	};
	const gateWait = (now: number) => Math.max(departures.waitMs(now), catchUp.waitMs(now));

	const alreadySent = (send: PreparedSend, claim: SendState): SendOutcome => ({
		kind: 'not_sent',
		itemIndex: send.itemIndex,
		reason: 'ALREADY_SENT',
		detail:
			claim.state === 'sent'
				? `sent ${new Date(claim.at).toISOString()}${claim.messageId ? ` as ${claim.messageId}` : ''}`
				: 'a request to this recipient was in flight in another execution',
	});

	// Recipients this campaign already sent (a re-run after a crash) or has on the wire elsewhere are
	// set aside in one read, before they could take throughput slots.
	const known = await store.sendStates(
		options.campaignId,
		sends.map((send) => send.contactKey),
		Date.now(),
	);
	type Job = { send: PreparedSend; attempt: number };
	const queue: Job[] = [];
	for (const send of sends) {
		const state = known.get(send.contactKey);
		if (!state) {
			queue.push({ send, attempt: 1 });
			continue;
		}
		if (send.reservationId) await store.releaseReservation(send.reservationId);
		finish(alreadySent(send, state));
	}
	let waiting = 0; // jobs sleeping before a retry

	const release = async (send: PreparedSend, keepClaim: boolean) => {
		if (!keepClaim) await store.releaseClaim(options.campaignId, send.contactKey, owner);
		if (send.reservationId) await store.releaseReservation(send.reservationId);
	};

	const process = async (job: Job) => {
		const { send } = job;
		// A halted job holds no claim of its own to give back: claims are made right before the request,
		// a retry after an answer gave its claim back, and a retry after no answer must keep it (that
		// request may have been accepted). Only the cap reservation is released.
		const halt = haltReason();
		if (halt) {
			await release(send, true);
			return finish({ kind: 'not_sent', itemIndex: send.itemIndex, ...halt });
		}
		// The shared limiter spaces sends a little under the configured rate, for every execution and
		// worker on this number; a slot whose time has passed (a timer fired late) is used at once, so
		// timer overshoot costs no throughput. This process's own departures then stay within Meta's
		// per-second count (see DepartureWindow): the check and the record run in one tick.
		const slot = await nextSlot();
		if (slot > Date.now()) await sleep(slot - Date.now());
		for (let now = Date.now(), wait = gateWait(now); wait > 0; now = Date.now(), wait = gateWait(now))
			await sleep(wait);
		const departed = Date.now();
		// Both logs record every departure, so one ticket stands for it in each.
		const ticket = departures.record(departed);
		catchUp.record(departed);
		// The last look before the request: a pause set while waiting for the slot still stops this one.
		const late = haltReason();
		if (late) {
			await release(send, true);
			return finish({ kind: 'not_sent', itemIndex: send.itemIndex, ...late });
		}
		// Claimed right before the request, straight as `sending` (a retry re-claims its own): a run
		// killed while waiting for slots leaves nothing behind, and only requests really on the wire
		// stay in flight. Recipients already sent were set aside before the run (sendStates,
		// above); this catches another execution of the same campaign that got there meanwhile.
		const claim = await store.claimSend(
			options.campaignId,
			send.contactKey,
			Date.now(),
			options.claimTtlMs,
			owner,
			'sending',
		);
		if (claim.state !== 'claimed') {
			if (send.reservationId) await store.releaseReservation(send.reservationId);
			return finish(alreadySent(send, claim));
		}
		try {
			const result = await client.sendTemplate(
				{
					to: send.to,
					name: send.template.name,
					languageCode: send.template.language,
					components: send.components,
					bizOpaqueCallbackData: `${options.campaignId}|${send.variant}`.slice(0, 512),
				},
				{
					onWritten: (at) => {
						departures.departedAt(ticket, at);
						catchUp.departedAt(ticket, at);
					},
				},
			);
			const sentAt = Date.now();
			await store.completeSend(options.campaignId, send.contactKey, result.messageId, sentAt);
			if (send.reservationId) await store.confirmReservation(send.reservationId, sentAt);
			return finish({
				kind: 'sent',
				itemIndex: send.itemIndex,
				variant: send.variant,
				result,
				attempts: job.attempt,
				sentAt,
			});
		} catch (caught) {
			const error =
				caught instanceof GraphApiError
					? caught
					: new GraphApiError({ message: String((caught as Error)?.message ?? caught), responseReceived: false });
			const delay = stopped ? undefined : retryDelay(error.rule, job.attempt, options.retry);
			if (delay !== undefined) {
				// Meta answered, so nothing was accepted: give the claim back while waiting, or a crash during
				// the wait would leave the recipient "in flight" and never sent. The retry claims again.
				if (error.responseReceived) await store.releaseClaim(options.campaignId, send.contactKey, owner);
				waiting++;
				setTimeout(() => {
					waiting--;
					queue.push({ send, attempt: job.attempt + 1 });
				}, delay);
				return;
			}
			if (stopsSending(error.errorClass) && !stopped) stopped = error;
			// Without a response the message may have been accepted: keep the claim so no re-run sends it twice.
			await release(send, !error.responseReceived);
			return finish({ kind: 'failed', itemIndex: send.itemIndex, variant: send.variant, error, attempts: job.attempt });
		}
	};

	const worker = async () => {
		for (;;) {
			const job = queue.shift();
			if (job) {
				await process(job);
				continue;
			}
			if (waiting === 0) return;
			await sleep(5);
		}
	};

	// A pause set by Campaign Control, the Delivery Monitor or another execution is seen within pauseCheckMs.
	const watcher = setInterval(() => {
		store
			.activePause(scopes)
			.then((state) => {
				if (state) pause = state;
			})
			.catch(() => undefined);
	}, options.pauseCheckMs);

	try {
		await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, sends.length)) }, worker));
	} finally {
		clearInterval(watcher);
	}
	return outcomes.sort((a, b) => a.itemIndex - b.itemIndex);
}
