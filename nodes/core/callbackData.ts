/**
 * Template Send tags each message with `biz_opaque_callback_data` = `wac1|campaignId|variant`; Meta
 * echoes it on every status of that message, which is how the Delivery Monitor attributes statuses to
 * a campaign. Other systems sending from the same number put their own data there ("some data", a
 * tracker id): a tag without our prefix is not ours and attributes nothing. This module writes the tag
 * and reads it back.
 */

/** Meta's limit on biz_opaque_callback_data. */
export const CALLBACK_DATA_MAX_LENGTH = 512;

const PREFIX = 'wac1|';
/** What Template Send wrote before tags had a prefix: `campaignId|A` or `campaignId|B`. */
const LEGACY = /^(.+)\|([AB])$/;

export function callbackData(campaignId: string, variant: string): string {
	const room = CALLBACK_DATA_MAX_LENGTH - PREFIX.length - variant.length - 1;
	return `${PREFIX}${campaignId.slice(0, room)}|${variant}`;
}

export function parseCallbackData(data: unknown): { campaignId?: string; variant?: string } {
	if (typeof data !== 'string' || !data) return {};
	if (data.startsWith(PREFIX)) {
		const tag = data.slice(PREFIX.length);
		const at = tag.lastIndexOf('|');
		return at > 0 ? { campaignId: tag.slice(0, at), variant: tag.slice(at + 1) || undefined } : {};
	}
	// Messages sent before the prefix still have statuses on the way for a while.
	const legacy = LEGACY.exec(data);
	return legacy ? { campaignId: legacy[1], variant: legacy[2] } : {};
}
