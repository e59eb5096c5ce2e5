/**
 * Template Send tags each message with `biz_opaque_callback_data` = `campaignId|variant`; Meta echoes
 * it on every status of that message, which is how the Delivery Monitor attributes statuses to a
 * campaign. This module writes the tag and reads it back.
 */

/** Meta's limit on biz_opaque_callback_data. */
export const CALLBACK_DATA_MAX_LENGTH = 512;

export function callbackData(campaignId: string, variant: string): string {
	return `${campaignId}|${variant}`.slice(0, CALLBACK_DATA_MAX_LENGTH);
}

export function parseCallbackData(data: unknown): { campaignId?: string; variant?: string } {
	if (typeof data !== 'string' || !data) return {};
	const at = data.lastIndexOf('|');
	return at > 0 ? { campaignId: data.slice(0, at), variant: data.slice(at + 1) || undefined } : { campaignId: data };
}
