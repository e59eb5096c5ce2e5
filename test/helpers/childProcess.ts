/** Runs a TypeScript script of the tests in its own Node process (another n8n worker, a process to kill). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
	return spawn(process.execPath, ['-r', './test/helpers/register-ts.js', script, ...args], {
		cwd: ROOT,
		env: { ...process.env, N8N_LOG_LEVEL: 'silent', ...env },
	});
}

/** Runs the script to the end and parses the last line it printed as JSON. */
export function runTs<T>(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
	return new Promise((resolve, reject) => {
		const child = spawnTs(script, args, env);
		let out = '';
		let err = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
		child.on('exit', (code) =>
			code === 0
				? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as T)
				: reject(new Error(`${script} exited ${code}: ${err}`)),
		);
	});
}
