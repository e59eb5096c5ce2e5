module.exports = {
	useTabs: true,
	singleQuote: true,
	trailingComma: 'all',
	arrowParens: 'always',
	printWidth: 120,
	semi: true,
	endOfLine: 'lf',
};
