import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

import { identifierKeyMaterial } from '../core/contactIdentity';

/**
 * The store key of a number, wa_id or BSUID: HMAC-SHA256 of its canonical form (core/contactIdentity.ts:
 * a Mexican `521` wa_id and the `+52` number are one person; a BSUID is marked as one) under the store's
 * secret, so the store never holds a plain number or BSUID. The secret becomes a KeyObject once: handing createHmac the raw bytes makes
 * Node build a key for every call, about ten times the cost of the hash (it showed in send profiles).
 */
export function contactKeyer(secret: Buffer): (identifier: string) => string {
	const key: KeyObject = createSecretKey(secret);
	return (identifier) =>
		createHmac('sha256', key)
			.update(identifierKeyMaterial(identifier) ?? identifier)
			.digest('hex');
}
