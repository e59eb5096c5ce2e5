/**
 * System errors in words. n8n replaces any node error message that contains a code such as
 * ECONNREFUSED or ENOTDIR (in any case, anywhere in the text) with a generic sentence of its own,
 * which would hide the file or host the operator has to fix; so store errors never carry the codes.
 */
const WORDS: Record<string, string> = {
	ECONNREFUSED: 'connection refused (is Redis running and listening there?)',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'host name could not be resolved',
	ETIMEDOUT: 'connection timed out',
	ECONNRESET: 'connection reset',
	EHOSTUNREACH: 'host unreachable',
	ENOTDIR: 'a part of the path is a file, not a folder',
	EACCES: 'permission denied (n8n may not write there)',
	EPERM: 'operation not permitted (n8n may not write there)',
	EROFS: 'the file system is read-only',
	ENOENT: 'no such file or folder',
	EISDIR: 'the path is a folder, not a file',
	ENOSPC: 'no space left on the device',
	EEXIST: 'already exists',
};
const CODES = new RegExp(`\\b(${Object.keys(WORDS).join('|')})\\b`, 'gi');
/** Network errors name the address the message around them already names: the words alone say it. */
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH']);

export function describeSystemError(error: Error & { code?: string }): string {
	const code = error.code?.toUpperCase();
	if (code && NETWORK.has(code)) return WORDS[code];
	// File errors keep the path Node put in the message: "ENOTDIR: not a directory, mkdir '/a/b'".
	return error.message.replace(CODES, (match) => WORDS[match.toUpperCase()]);
}
