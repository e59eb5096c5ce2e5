import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

import { canonicalNumber } from '../core/contactIdentity';

/**
 * The store key of a number: HMAC-SHA256 of its canonical E.164 form (core/contactIdentity.ts: a
 * Mexican `521` wa_id and the `+52` number are one person) under the store's secret, so the store never
 * holds a plain number. The secret becomes a KeyObject once: handing createHmac the raw bytes makes
 * Node build a key for every call, about ten times the cost of the hash (it showed in send profiles).
 */
export function contactKeyer(secret: Buffer): (e164: string) => string {
	const key: KeyObject = createSecretKey(secret);
	return (e164) =>
		createHmac('sha256', key)
			.update(canonicalNumber(e164) ?? e164)
			.digest('hex');
}
