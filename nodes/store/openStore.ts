import { RedisStore, type RedisConnection } from './RedisStore';
import { defaultSqlitePath, SqliteStore } from './SqliteStore';
import type { ComplianceStore } from './types';

export type StoreConfig = { kind: 'sqlite'; file?: string } | { kind: 'redis'; connection: RedisConnection };

/*
 * One open store per file or Redis connection per process: nodes call this for every execution, and
 * opening SQLite (schema check) or Redis (TCP + AUTH) per execution, let alone per item, would cost
 * more than the decisions themselves.
 */
const openStores = new Map<string, Promise<ComplianceStore>>();

function cacheKey(config: StoreConfig): string {
	if (config.kind === 'sqlite') return `sqlite:${config.file ?? defaultSqlitePath()}`;
	const c = config.connection;
	return `redis:${c.username ?? ''}@${c.host}:${c.port}/${c.database ?? 0}/${c.keyPrefix ?? 'wac:'}/${c.tls ? 'tls' : ''}/${c.password ?? ''}/${c.contactKeySecret ?? ''}`;
}

export function openStore(config: StoreConfig): Promise<ComplianceStore> {
	const key = cacheKey(config);
	let store = openStores.get(key);
	if (!store) {
		store =
			config.kind === 'sqlite'
				? Promise.resolve().then(() => SqliteStore.open(config.file))
				: RedisStore.open(config.connection);
		openStores.set(key, store);
		// A failed open is not cached: the next execution tries again (Redis may be back).
		store.catch(() => openStores.delete(key));
	}
	return store;
}

/** Closes every store this process opened (tests, and n8n shutting down). */
export async function closeAllStores(): Promise<void> {
	const stores = [...openStores.values()];
	openStores.clear();
	await Promise.all(stores.map(async (store) => (await store.catch(() => undefined))?.close()));
}
