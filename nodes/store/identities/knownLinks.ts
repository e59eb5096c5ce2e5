/**
 * A link, once made, never changes (the first pairing wins), and 2026 statuses pair the same BSUID
 * with the same number on every sent, delivered and read: each process remembers the aliases it has
 * seen linked, so the repeats cost no store write. Bounded; forgetting only costs a write.
 *
 * Forget Contact deletes links: the process that forgets empties its memory at once (`clear`), and
 * every other process (another n8n worker, a webhook process) stops trusting what it remembers after
 * `ttlMs`, so a pairing that arrives again after an erasure is linked again within that time.
 */
export const KNOWN_LINK_TTL_MS = 5 * 60_000;

export class KnownLinks {
	/** alias → when this process stops trusting that it is linked. */
	private readonly aliases = new Map<string, number>();
	private readonly limit: number;
	private readonly ttlMs: number;

	constructor(limit = 100_000, ttlMs = KNOWN_LINK_TTL_MS) {
		this.limit = limit;
		this.ttlMs = ttlMs;
	}

	has(alias: string, now = Date.now()): boolean {
		const until = this.aliases.get(alias);
		if (until === undefined) return false;
		if (until > now) return true;
		this.aliases.delete(alias);
		return false;
	}

	remember(alias: string, now = Date.now()): void {
		if (this.aliases.size >= this.limit) this.aliases.clear();
		this.aliases.set(alias, now + this.ttlMs);
	}

	clear(): void {
		this.aliases.clear();
	}
}
