/** The sandbox the send benchmarks talk to: in its own process, as Meta is, and the credential for it. */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** A sandbox in its own process, as Meta is: the sender's pauses cannot distort its clock. */
export async function remoteSandbox(args: string[]): Promise<{ baseUrl: string; stop: () => void }> {
	const child = spawn(process.execPath, ['test/sandbox/cli.ts', '--port', '0', ...args], { cwd: ROOT });
	const baseUrl = await new Promise<string>((resolve, reject) => {
		let out = '';
		child.stdout.on('data', (c: Buffer) => {
			out += c.toString();
			const match = /listening on (http:\/\/\S+)/.exec(out);
			if (match) resolve(match[1]);
		});
		child.on('exit', (code) => reject(new Error(`sandbox exited ${code}`)));
	});
	return { baseUrl, stop: () => child.kill('SIGTERM') };
}

/** The WhatsApp Cloud API credential for a sandbox started by `remoteSandbox` (its defaults). */
export function sandboxCloudCredential(baseUrl: string) {
	return {
		accessToken: 'sandbox-token',
		phoneNumberId: '106540352242922',
		businessAccountId: '102290129340398',
		apiVersion: 'v26.0',
		baseUrl,
	};
}
