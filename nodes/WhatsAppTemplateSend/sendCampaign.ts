/**
 * The send loop of WhatsApp Template Send, free of n8n: paced by the store's shared throughput
 * limiter, retried by Meta's error classes, idempotent per campaign, and stopped within half a second
 * of a pause set anywhere. Every prepared send ends in exactly one outcome.
 */
import { randomUUID } from 'node:crypto';

import { callbackData } from '../core/callbackData';
import { identifierKeyMaterial } from '../core/contactIdentity';
import { stopsSending } from '../core/metaErrors';
import { retryDelay, type RetryOptions } from '../core/retryPolicy';
import { GLOBAL_SCOPE_ID, type PauseScope, type PauseState, type SendState } from '../core/types';
import { StoreUnavailableError, type ComplianceStore } from '../store/types';
import {
	GraphApiError,
	type GraphApiClient,
	type SendResult,
	type TemplateComponent,
} from '../transport/GraphApiClient';
import {
	ADMISSION_FRESH_MS,
	DEPARTURE_WINDOW_MS,
	numberDepartures,
	PACING_HEADROOM,
	SLOT_BATCH_MS,
	type DepartureWindow,
} from './departureWindow';

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

export type NotSentReason = 'PAUSED' | 'ALREADY_SENT' | 'CAMPAIGN_STOPPED' | 'SUPPRESSED' | 'STORE_UNAVAILABLE';

export type SendOutcome =
	| {
			kind: 'sent';
			itemIndex: number;
			variant: 'A' | 'B';
			result: SendResult;
			attempts: number;
			sentAt: number;
			/** Meta accepted it, but the store failed before the send log said so (the monitor records it on its statuses). */
			unrecorded?: boolean;
	  }
	| {
			kind: 'failed';
			itemIndex: number;
			variant: 'A' | 'B';
			error: GraphApiError;
			attempts: number;
			/** The request reached Meta and no answer came: it may have been delivered (never resent). */
			inDoubt?: boolean;
	  }
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

type Job = { send: PreparedSend; attempt: number };
/** The number's window across processes let a departure go: when it was asked, and its ticket there. */
type Admission = { asked: number; ticket?: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sendCampaign(
	store: ComplianceStore,
	client: GraphApiClient,
	sends: PreparedSend[],
	options: CampaignOptions,
): Promise<SendOutcome[]> {
	return new CampaignRun(store, client, sends, options).run();
}

/** The pause scopes a run watches: its campaign, its number, everything, and each template it sends. */
function pauseScopes(sends: PreparedSend[], options: CampaignOptions): Array<{ scope: PauseScope; id: string }> {
	return [
		{ scope: 'campaign', id: options.campaignId },
		{ scope: 'phone', id: options.phoneNumberId },
		{ scope: 'global', id: GLOBAL_SCOPE_ID },
		// Meta paused or disabled a template this run sends (the Delivery Monitor records it).
		...[...new Set(sends.map((send) => `${send.template.name}:${send.template.language}`))].map((id) => ({
			scope: 'template' as const,
			id,
		})),
	];
}

/** One execution's sends of one campaign. */
class CampaignRun {
	private readonly store: ComplianceStore;
	private readonly client: GraphApiClient;
	private readonly sends: PreparedSend[];
	private readonly options: CampaignOptions;
	private readonly outcomes: SendOutcome[] = [];
	/** This run's identity in the claims: it may retry its own in-flight claims, nobody else may until they expire. */
	private readonly owner = randomUUID();
	/** This process's departures from the number, shared with its other executions (numberDepartures). */
	private readonly departures: DepartureWindow;
	/**
	 * Slots missed during a stall are caught up at no more than twice the rate: a burst of them all at
	 * once reaches Meta bunched (it reads them one after another), and a second later leaves this
	 * process's window in one go too, so it would repeat every second.
	 */
	private readonly catchUp: DepartureWindow;
	private readonly scopes: Array<{ scope: PauseScope; id: string }>;
	private readonly started = Date.now();
	private readonly counts = { sent: 0, failed: 0, notSent: 0 };
	private readonly queue: Job[] = [];
	/** Jobs sleeping before a retry. */
	private waiting = 0;
	private pause: PauseState | undefined;
	private stopped: GraphApiError | undefined;
	/** The store failed: no further request leaves this run (fail closed). */
	private storeFailure: Error | undefined;
	/** Slots from the shared limiter, as local times, taken a batch at a time by whichever worker finds none. */
	private readonly slots: number[] = [];
	private readonly slotBatch: number;
	private refill: Promise<void> | undefined;

	constructor(store: ComplianceStore, client: GraphApiClient, sends: PreparedSend[], options: CampaignOptions) {
		this.store = store;
		this.client = client;
		this.sends = sends;
		this.options = options;
		({ departures: this.departures, catchUp: this.catchUp } = numberDepartures(
			options.phoneNumberId,
			options.ratePerSecond,
		));
		this.scopes = pauseScopes(sends, options);
		this.slotBatch = Math.max(1, Math.min(32, Math.ceil((options.ratePerSecond * SLOT_BATCH_MS) / 1000)));
	}

	async run(): Promise<SendOutcome[]> {
		this.pause = await this.store.campaigns.activePause(this.scopes);
		await this.prepareQueue();
		// A pause set by Campaign Control, the Delivery Monitor or another execution is seen within pauseCheckMs.
		const watcher = setInterval(() => {
			this.store.campaigns
				.activePause(this.scopes)
				.then((state) => {
					if (state) this.pause = state;
				})
				.catch(() => undefined);
		}, this.options.pauseCheckMs);
		try {
			const workers = Math.max(1, Math.min(this.options.concurrency, this.sends.length));
			await Promise.all(Array.from({ length: workers }, () => this.worker()));
		} finally {
			clearInterval(watcher);
		}
		return this.outcomes.sort((a, b) => a.itemIndex - b.itemIndex);
	}

	/**
	 * Recipients this campaign already sent (a re-run after a crash) or has on the wire elsewhere are
	 * set aside in one read, before they could take throughput slots; the rest are queued.
	 */
	private async prepareQueue() {
		const known = await this.store.sends.sendStates(
			this.options.campaignId,
			this.sends.map((send) => send.contactKey),
			Date.now(),
		);
		for (const send of this.sends) {
			const state = known.get(send.contactKey);
			if (!state) {
				this.queue.push({ send, attempt: 1 });
				continue;
			}
			if (send.reservationId) await this.store.caps.releaseReservation(send.reservationId);
			this.finish(alreadySent(send, state));
		}
	}

	private async worker() {
		for (;;) {
			const job = this.queue.shift();
			if (job) {
				try {
					await this.sendOne(job);
				} catch (error) {
					// A store call failed before the request left (slots, claim): nothing was sent for this
					// item, and nothing more is sent by this run.
					if (!(error instanceof StoreUnavailableError)) throw error;
					this.storeFailure ??= error;
					this.finish({ kind: 'not_sent', itemIndex: job.send.itemIndex, ...this.haltReason()! });
				}
				continue;
			}
			if (this.waiting === 0) return;
			await sleep(5);
		}
	}

	private finish(outcome: SendOutcome) {
		this.outcomes.push(outcome);
		if (outcome.kind === 'sent') this.counts.sent++;
		else if (outcome.kind === 'failed') this.counts.failed++;
		else this.counts.notSent++;
		const done = this.counts.sent + this.counts.failed + this.counts.notSent;
		if (this.options.onProgress && done % this.options.progressEvery === 0) {
			this.options.onProgress({
				...this.counts,
				remaining: this.sends.length - done,
				ratePerSecond: this.counts.sent / Math.max(0.001, (Date.now() - this.started) / 1000),
			});
		}
	}

	private haltReason(): { reason: NotSentReason; detail?: string } | undefined {
		if (this.storeFailure)
			return { reason: 'STORE_UNAVAILABLE', detail: `Nothing more was sent: ${this.storeFailure.message}` };
		if (this.stopped)
			return {
				reason: 'CAMPAIGN_STOPPED',
				detail: `Meta error ${this.stopped.code ?? ''}: ${this.stopped.message}`.trim(),
			};
		if (this.pause)
			return {
				reason: 'PAUSED',
				detail: `${this.pause.scope} paused${this.pause.reason ? `: ${this.pause.reason}` : ''}`,
			};
		return undefined;
	}

	private async nextSlot(): Promise<number> {
		while (this.slots.length === 0) {
			this.refill ??= this.store.limiter
				.acquireSendSlots(this.options.phoneNumberId, this.options.ratePerSecond * PACING_HEADROOM, this.slotBatch)
				.then(({ waits }) => {
					const received = Date.now();
					for (const wait of waits) this.slots.push(received + wait);
				})
				.finally(() => (this.refill = undefined));
			await this.refill;
		}
		return this.slots.shift()!;
	}

	/**
	 * Waits for the next slot and this process's windows, then the number's window across processes;
	 * returns the departure's ticket in this process's logs and the admission it was given.
	 */
	private async depart(): Promise<{ ticket: number; admission: Admission }> {
		// The shared limiter spaces sends a little under the configured rate, for every execution and
		// worker on this number; a slot whose time has passed (a timer fired late) is used at once, so
		// timer overshoot costs no throughput. This process's own departures then stay within Meta's
		// per-second count (see DepartureWindow).
		const slot = await this.nextSlot();
		if (slot > Date.now()) await sleep(slot - Date.now());
		const gateWait = (now: number) => Math.max(this.departures.waitMs(now), this.catchUp.waitMs(now));
		let admission: Admission | undefined;
		while (!admission) {
			for (let now = Date.now(), wait = gateWait(now); wait > 0; now = Date.now(), wait = gateWait(now))
				await sleep(wait);
			admission = await this.admitShared();
		}
		const departed = Date.now();
		// Both logs record every departure, so one ticket stands for it in each.
		const ticket = this.departures.record(departed);
		this.catchUp.record(departed);
		return { ticket, admission };
	}

	/**
	 * Asks the number's window across processes (queue-mode workers on one store) once; it records the
	 * departure when it admits it. Undefined after waiting as long as it said.
	 */
	private async admitShared(replacing?: string): Promise<Admission | undefined> {
		const asked = Date.now();
		const { wait, ticket } = await this.store.limiter.admitDeparture(
			this.options.phoneNumberId,
			this.options.ratePerSecond,
			DEPARTURE_WINDOW_MS,
			replacing,
		);
		if (wait === 0) return { asked, ticket };
		await sleep(wait);
		return undefined;
	}

	/**
	 * The admission the request leaves on was asked within ADMISSION_FRESH_MS of now: one asked longer
	 * ago (this process stalled, or the claim waited for the store) is swapped for a new one in the same
	 * store call, so it holds no place in the window twice.
	 */
	private async freshAdmission(admission: Admission): Promise<void> {
		let replacing = admission.ticket;
		for (let asked = admission.asked; Date.now() - asked > ADMISSION_FRESH_MS;) {
			const again = await this.admitShared(replacing);
			replacing = again?.ticket;
			asked = again?.asked ?? -Infinity;
		}
	}

	/** Gives back what a send that did not go out holds: its claim (unless kept) and its cap reservation. */
	private async release(send: PreparedSend, keepClaim: boolean) {
		if (!keepClaim) await this.store.sends.releaseClaim(this.options.campaignId, send.contactKey, this.owner);
		if (send.reservationId) await this.store.caps.releaseReservation(send.reservationId);
	}

	private async sendOne(job: Job) {
		const { send } = job;
		// A halted job holds no claim of its own to give back: claims are made right before the request,
		// a retry after an answer gave its claim back, and a retry after no answer must keep it (that
		// request may have been accepted). Only the cap reservation is released.
		const halt = this.haltReason();
		if (halt) {
			await this.release(send, true);
			return this.finish({ kind: 'not_sent', itemIndex: send.itemIndex, ...halt });
		}
		const { ticket, admission } = await this.depart();
		// The last look before the request: a pause set while waiting for the slot still stops this one.
		const late = this.haltReason();
		if (late) {
			await this.release(send, true);
			return this.finish({ kind: 'not_sent', itemIndex: send.itemIndex, ...late });
		}
		// Claimed right before the request (a retry re-claims its own): a run killed while waiting for
		// slots leaves nothing behind, and only requests really on the wire stay in flight. Recipients
		// already sent were set aside before the run (prepareQueue); this catches another execution of
		// the same campaign that got there meanwhile.
		const claim = await this.store.sends.claimSend(
			this.options.campaignId,
			send.contactKey,
			Date.now(),
			this.options.claimTtlMs,
			this.owner,
		);
		if (claim.state !== 'claimed') {
			if (send.reservationId) await this.store.caps.releaseReservation(send.reservationId);
			return this.finish(alreadySent(send, claim));
		}
		// A store failure here halts the run below, and this claim is given back: nothing was sent.
		await this.bookkeeping(() => this.freshAdmission(admission));
		// A store write can hold this process for the store's busy timeout (SQLite waits for another
		// process's lock), during which another send may have seen the store fail: this claim went through
		// after it, and nothing leaves after a failure. Its claim is given back if the store lets it (else
		// it lapses with its TTL; nothing was sent).
		const afterClaim = this.haltReason();
		if (afterClaim) {
			await this.bookkeeping(() => this.release(send, false));
			return this.finish({ kind: 'not_sent', itemIndex: send.itemIndex, ...afterClaim });
		}
		// Whether the request reached the socket: an error after that without an answer leaves the
		// message in doubt (Meta may have accepted it), an error before it proves nothing was sent.
		let written = false;
		try {
			const result = await this.client.sendTemplate(
				{
					to: send.to,
					name: send.template.name,
					languageCode: send.template.language,
					components: send.components,
					bizOpaqueCallbackData: callbackData(this.options.campaignId, send.variant, send.contactKey),
				},
				{
					onWritten: (at) => {
						written = true;
						this.departures.departedAt(ticket, at);
						this.catchUp.departedAt(ticket, at);
					},
				},
			);
			const sentAt = Date.now();
			let unrecorded = false;
			try {
				await this.store.sends.completeSend(this.options.campaignId, send.contactKey, result.messageId, sentAt);
				if (send.reservationId) await this.store.caps.confirmReservation(send.reservationId, sentAt);
				await this.learnAliases(send.contactKey, result, sentAt);
			} catch (error) {
				// Meta took it: the item is Sent whatever the store says. Its claim stays "in flight" (so no
				// re-run sends it again) until the Delivery Monitor records its statuses.
				if (!(error instanceof StoreUnavailableError)) throw error;
				this.storeFailure ??= error;
				unrecorded = true;
			}
			return this.finish({
				kind: 'sent',
				itemIndex: send.itemIndex,
				variant: send.variant,
				result,
				attempts: job.attempt,
				sentAt,
				...(unrecorded ? { unrecorded } : {}),
			});
		} catch (caught) {
			return this.failed(job, caught, written);
		}
	}

	/**
	 * Meta's answer names the recipient as it knows them (`contacts[].wa_id` for a number,
	 * `contacts[].user_id` for a BSUID). Where that keys apart from the person it was sent to (a wa_id in
	 * a form no rule in core/contactIdentity.ts knows), it becomes one of the person's aliases, so their
	 * statuses and a STOP from that wa_id reach them. The usual answer keys the same: no store call.
	 */
	private async learnAliases(contactKey: string, result: SendResult, at: number) {
		const named = [typeof result.waId === 'string' && `+${result.waId}`, result.userId].filter(
			(id): id is string => typeof id === 'string' && identifierKeyMaterial(id) !== undefined,
		);
		for (const identifier of named) {
			const aliasKey = this.store.contactKey(identifier);
			if (aliasKey !== contactKey) await this.store.identities.link(aliasKey, contactKey, at);
		}
	}

	/**
	 * Store writes after a request was answered: the item's outcome is Meta's, whatever the store says.
	 * A store failure here stops the rest of the run (fail closed) but does not change this outcome.
	 */
	private async bookkeeping(write: () => Promise<unknown>) {
		try {
			await write();
		} catch (error) {
			if (!(error instanceof StoreUnavailableError)) throw error;
			this.storeFailure ??= error;
		}
	}

	/** A request that threw: retried when Meta's table says so, otherwise the item fails. */
	private async failed(job: Job, caught: unknown, written: boolean) {
		const { send } = job;
		const error =
			caught instanceof GraphApiError
				? caught
				: new GraphApiError({ message: String((caught as Error)?.message ?? caught), responseReceived: false });
		const fail = (inDoubt: boolean) =>
			this.finish({
				kind: 'failed',
				itemIndex: send.itemIndex,
				variant: send.variant,
				error,
				attempts: job.attempt,
				...(inDoubt ? { inDoubt } : {}),
			});
		if (written && !error.responseReceived) {
			// Meta has no idempotency key: a request that reached it and got no answer may have been
			// accepted, so it is never sent again on a guess. Its claim becomes in_doubt, settled by its
			// status webhook (the Delivery Monitor marks it sent); no later run sends it meanwhile.
			await this.bookkeeping(() =>
				this.store.sends.markInDoubt(this.options.campaignId, send.contactKey, this.owner, Date.now()),
			);
			if (send.reservationId) await this.bookkeeping(() => this.store.caps.releaseReservation(send.reservationId!));
			return fail(true);
		}
		const delay = this.stopped ? undefined : retryDelay(error.rule, job.attempt, this.options.retry);
		if (delay !== undefined) {
			// Meta answered, so nothing was accepted: give the claim back while waiting, or a crash during
			// the wait would leave the recipient "in flight" and never sent. The retry claims again.
			if (error.responseReceived)
				await this.bookkeeping(() =>
					this.store.sends.releaseClaim(this.options.campaignId, send.contactKey, this.owner),
				);
			this.waiting++;
			setTimeout(() => {
				this.waiting--;
				this.queue.push({ send, attempt: job.attempt + 1 });
			}, delay);
			return;
		}
		if (stopsSending(error.errorClass) && !this.stopped) this.stopped = error;
		// Meta's per-user marketing limit (131049): no more marketing to this person for a while, from
		// this run or any other (the Frequency Cap and Template Send read the hold).
		if (error.rule.holdRecipientMs)
			await this.bookkeeping(() =>
				this.store.facts.holdContact(send.contactKey, Date.now() + error.rule.holdRecipientMs!),
			);
		// Without a response the message may have been accepted: keep the claim so no re-run sends it twice.
		await this.bookkeeping(() => this.release(send, !error.responseReceived));
		return fail(false);
	}
}

function alreadySent(send: PreparedSend, claim: SendState): SendOutcome {
	return {
		kind: 'not_sent',
		itemIndex: send.itemIndex,
		reason: 'ALREADY_SENT',
		detail:
			claim.state === 'sent'
				? `sent ${new Date(claim.at).toISOString()}${claim.messageId ? ` as ${claim.messageId}` : ''}`
				: claim.state === 'in_doubt'
					? `a request to this recipient reached Meta at ${new Date(claim.at).toISOString()} and got no answer: it may have been delivered, so it is not sent again until its status arrives`
					: 'a request to this recipient was in flight in another execution',
	};
}
