/** `npm run test:e2e`: the package inside a real n8n (installed once into a cache folder outside the repo). */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
	...base,
	testMatch: ['**/*.e2e.test.ts'],
	testPathIgnorePatterns: [],
	// One n8n per file, files one after another: n8n and the sandbox share the machine's two cores.
	maxWorkers: 1,
	testTimeout: 20 * 60_000,
};
