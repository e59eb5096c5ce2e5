/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	// End-to-end tests against a real n8n run with `npm run test:e2e` (jest.e2e.config.js).
	testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.test\\.ts$'],
	transform: {
		// Type-checking is `npm run typecheck`'s job; here ts-jest only transpiles.
		'^.+\\.ts$': ['ts-jest', { diagnostics: false }],
	},
	setupFiles: ['<rootDir>/test/helpers/jestSetup.ts'],
	testTimeout: 60_000,
	// Store and race tests start their own child processes and servers; run files in parallel on 2 cores.
	maxWorkers: 2,
};
