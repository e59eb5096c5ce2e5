/** Starts a throwaway redis-server on a free loopback port (`.ci/run` installs it when missing). */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './freePort';

/** The Contact Key Secret the tests' Redis credentials and connections carry (never kept in Redis). */
export const TEST_CONTACT_KEY_SECRET = 'b'.repeat(64);

export interface RedisServer {
	host: string;
	port: number;
	stop(): Promise<void>;
}

/** On a free port, or on `port` (to bring a stopped server back where its clients expect it). */
export async function startRedisServer(port?: number): Promise<RedisServer> {
	port ??= await freePort();
	const child: ChildProcess = spawn(
		'redis-server',
		['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
		{
			stdio: ['ignore', 'pipe', 'pipe'],
		},
	);
	await new Promise<void>((resolve, reject) => {
		let output = '';
		const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${output}`)), 10_000);
		child.once('error', (error) => {
			clearTimeout(timer);
			reject(new Error(`redis-server could not be started (is it installed?): ${error.message}`));
		});
		child.stdout!.on('data', (chunk: Buffer) => {
			output += chunk.toString();
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve();
			}
		});
	});
	return {
		host: '127.0.0.1',
		port,
		stop: () =>
			new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				child.once('exit', () => resolve());
				child.kill('SIGTERM');
			}),
	};
}
