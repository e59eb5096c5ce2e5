/**
 * A link, once made, never changes (the first pairing wins), and 2026 statuses pair the same BSUID
 * with the same number on every sent, delivered and read: each process remembers the aliases it has
 * seen linked, so the repeats cost no store write. Bounded; forgetting only costs a write.
 */
export class KnownLinks {
	private readonly aliases = new Set<string>();
	private readonly limit: number;

	constructor(limit = 100_000) {
		this.limit = limit;
	}

	has(alias: string): boolean {
		return this.aliases.has(alias);
	}

	remember(alias: string): void {
		if (this.aliases.size >= this.limit) this.aliases.clear();
		this.aliases.add(alias);
	}
}
