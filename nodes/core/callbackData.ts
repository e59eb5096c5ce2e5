/**
 * Template Send tags each message with `biz_opaque_callback_data`; Meta echoes it on every status of
 * that message. The tag names the send: `wac2|<variant>|<sendKey>|<campaignId>`, where `sendKey` is
 * the contact key the send was claimed under (a keyed hash, never a number or BSUID). With it the
 * Delivery Monitor attributes a status to its campaign and settles the exact claim (an in-doubt send
 * included) even when Meta names the recipient in a form that keys elsewhere, or names nobody usable.
 * The campaign comes last so it may contain `|`.
 *
 * Other systems sending from the same number put their own data there ("some data", a tracker id): a
 * tag without our prefix is not ours and attributes nothing. Tags of earlier versions
 * (`wac1|campaignId|variant`, and `campaignId|A` before that) are still read: their statuses arrive
 * for days after the send. This module writes the tag and reads it back.
 */

/** Meta's limit on biz_opaque_callback_data. */
export const CALLBACK_DATA_MAX_LENGTH = 512;

const PREFIX = 'wac2|';
const V1_PREFIX = 'wac1|';
/** What Template Send wrote before tags had a prefix: `campaignId|A` or `campaignId|B`. */
const LEGACY = /^(.+)\|([AB])$/;
/** A contact key: HMAC-SHA256 in hex (store/contactKeys.ts). */
const SEND_KEY = /^[0-9a-f]{64}$/;

export interface CallbackTag {
	campaignId?: string;
	variant?: string;
	/** The contact key the send was claimed under (tags from `wac2` on). */
	sendKey?: string;
}

export function callbackData(campaignId: string, variant: string, sendKey: string): string {
	const head = `${PREFIX}${variant}|${sendKey}|`;
	return head + campaignId.slice(0, CALLBACK_DATA_MAX_LENGTH - head.length);
}

export function parseCallbackData(data: unknown): CallbackTag {
	if (typeof data !== 'string' || !data) return {};
	if (data.startsWith(PREFIX)) {
		const [variant, sendKey] = data.slice(PREFIX.length).split('|', 2);
		const campaignId = data.slice(PREFIX.length + variant.length + 1 + (sendKey?.length ?? 0) + 1);
		if (!variant || !SEND_KEY.test(sendKey ?? '') || !campaignId) return {};
		return { campaignId, variant, sendKey };
	}
	if (data.startsWith(V1_PREFIX)) {
		const tag = data.slice(V1_PREFIX.length);
		const at = tag.lastIndexOf('|');
		return at > 0 ? { campaignId: tag.slice(0, at), variant: tag.slice(at + 1) || undefined } : {};
	}
	// Messages sent before the prefix still have statuses on the way for a while.
	const legacy = LEGACY.exec(data);
	return legacy ? { campaignId: legacy[1], variant: legacy[2] } : {};
}
