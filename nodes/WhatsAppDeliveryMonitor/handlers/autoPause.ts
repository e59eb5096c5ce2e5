/** The automatic pause: a campaign whose delivery rate fell, or whose opt-out rate rose, past the thresholds. */
import { countersSinceResume } from '../../core/campaignCounters';
import type { AutoPauseRules, DeliveryContext } from './context';

export async function autoPause({ store, options }: DeliveryContext, campaignId: string, rules: AutoPauseRules) {
	// Cheapest first, on every status batch: a campaign short of the minimum in all its history is
	// short of it since any resume too.
	const allTime = await store.campaigns.counters(campaignId);
	if ((allTime.delivered ?? 0) + (allTime.deliveryFailed ?? 0) < rules.minimumFinal) return undefined;
	if (await store.campaigns.activePause([{ scope: 'campaign', id: campaignId }])) return undefined;
	const resume = (await store.campaigns.pauses()).find(
		(p) => p.scope === 'campaign' && p.id === campaignId && !p.paused,
	);
	const counters = countersSinceResume(allTime, resume);
	const delivered = counters.delivered ?? 0;
	const failed = counters.deliveryFailed ?? 0;
	const finals = delivered + failed;
	if (finals < rules.minimumFinal) return undefined;
	const deliveryRate = delivered / finals;
	const optOutRate = (counters.optOut ?? 0) / Math.max(counters.sent ?? 0, finals);
	const reason =
		deliveryRate < rules.minDeliveryRate
			? 'DELIVERY_RATE'
			: optOutRate > rules.maxOptOutRate
				? 'OPT_OUT_RATE'
				: undefined;
	if (!reason) return undefined;
	const details = {
		deliveryRate: Math.round(deliveryRate * 1000) / 1000,
		optOutRate: Math.round(optOutRate * 1000) / 1000,
		delivered,
		failed,
		optOuts: counters.optOut ?? 0,
	};
	await store.campaigns.setPause({ scope: 'campaign', id: campaignId, paused: true, reason, at: options.now, details });
	return {
		kind: 'alert',
		alert: `CAMPAIGN_PAUSED_${reason}`,
		campaignId,
		paused: { scope: 'campaign', id: campaignId },
		...details,
	};
}
