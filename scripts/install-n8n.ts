/** `npm run n8n:install`: installs the pinned n8n into its cache folder (what the e2e tests and the demo use). */
import { ensureN8nInstalled, n8nCacheDir } from '../test/e2e/n8nInstance.ts';

ensureN8nInstalled((line) => console.log(line)).then(
	() => console.log(`n8n ready in ${n8nCacheDir()}`),
	(error) => {
		console.error(error);
		process.exit(1);
	},
);
