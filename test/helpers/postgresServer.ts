/**
 * A private PostgreSQL for the queue-mode tests: a throwaway cluster (initdb, trust authentication)
 * on a free loopback port, its socket and data in a temporary folder, removed when stopped. Needs the
 * server binaries (Debian's `postgresql` package; `.ci/run` installs it). PostgreSQL refuses to run as
 * root, so as root the cluster belongs to the `postgres` user that package creates.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { freePort } from './freePort';

const run = promisify(execFile);

export interface PostgresServer {
	host: string;
	port: number;
	user: string;
	database: string;
	stop(): Promise<void>;
}

const SERVER_BINARIES = ['initdb', 'pg_ctl', 'psql'];

/** The folder holding initdb, pg_ctl and psql: Debian's newest /usr/lib/postgresql/<n>/bin, else on PATH. */
export function postgresBinDir(): string | undefined {
	const complete = (dir: string) => SERVER_BINARIES.every((name) => existsSync(path.join(dir, name)));
	const root = '/usr/lib/postgresql';
	const versions = existsSync(root)
		? readdirSync(root)
				.map((v) => path.join(root, v, 'bin'))
				.filter(complete)
				.sort((a, b) => Number(path.basename(path.dirname(b))) - Number(path.basename(path.dirname(a))))
		: [];
	return versions[0] ?? (process.env.PATH ?? '').split(path.delimiter).find((dir) => dir && complete(dir));
}

export async function startPostgresServer(database = 'n8n'): Promise<PostgresServer> {
	const bin = postgresBinDir();
	if (!bin) throw new Error('PostgreSQL server binaries not found (Debian: apt-get install postgresql)');
	const dir = mkdtempSync(path.join(os.tmpdir(), 'wa-pg-'));
	const data = path.join(dir, 'data');
	const asRoot = process.getuid?.() === 0;
	if (asRoot) {
		const { stdout } = await run('id', ['-u', 'postgres']);
		const { stdout: gid } = await run('id', ['-g', 'postgres']);
		chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
	}
	chmodSync(dir, 0o700);
	// As root, every server command runs as the postgres user.
	const pg = (command: string, args: string[]) =>
		asRoot
			? run('runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args])
			: run(path.join(bin, command), args);
	const port = await freePort();
	await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
	await pg('pg_ctl', [
		'-D',
		data,
		'-l',
		path.join(dir, 'server.log'),
		'-w',
		'-o',
		`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200`,
		'start',
	]);
	await pg('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', `CREATE DATABASE ${database}`]);
	return {
		host: '127.0.0.1',
		port,
		user: 'postgres',
		database,
		async stop() {
			await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
