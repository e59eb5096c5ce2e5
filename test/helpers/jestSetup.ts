// Every test process gets its own built-in store file, never the developer's ~/.n8n one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

process.env.WHATSAPP_COMPLIANCE_DB ??= path.join(
	mkdtempSync(path.join(tmpdir(), 'wac-jest-')),
	'whatsapp-compliance.sqlite',
);
// n8n's logger prints node errors the tests provoke on purpose; keep the output for real failures.
process.env.N8N_LOG_LEVEL ??= 'silent';
