// eslint-plugin-n8n-nodes-base ships legacy (eslintrc) configs; spread their rules into flat config,
// scoped the way n8n's community node starter scopes them.
const tsParser = require('@typescript-eslint/parser');
const n8nNodesBase = require('eslint-plugin-n8n-nodes-base');

const plugins = { 'n8n-nodes-base': n8nNodesBase };
const languageOptions = { parser: tsParser, ecmaVersion: 2023, sourceType: 'module' };

module.exports = [
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'examples/**'] },
	{
		files: ['package.json'],
		plugins,
		languageOptions: { ...languageOptions, parserOptions: { extraFileExtensions: ['.json'] } },
		rules: {
			...n8nNodesBase.configs.community.rules,
			'n8n-nodes-base/community-package-json-name-still-default': 'off',
		},
	},
	{
		files: ['credentials/**/*.ts'],
		plugins,
		languageOptions,
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// The rule itself says it applies to n8n's main repository only (docs slugs, not URLs).
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		plugins,
		languageOptions,
		rules: {
			...n8nNodesBase.configs.nodes.rules,
		},
	},
];
