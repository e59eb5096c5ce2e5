import { matchesKeyword, normaliseKeyword, OPT_OUT_KEYWORDS, RESUBSCRIBE_KEYWORDS } from '../../nodes/core/keywords';
import { optOutPathWarning, type TemplateDefinition } from '../../nodes/core/templates';

describe('opt-out keywords: one list for the Delivery Monitor and the opt-out-path check', () => {
	test.each([
		['Stop', true],
		['STOP!', true],
		[' arrêt ', true],
		['Stopp', true],
		['pare', true],
		['Basta', true],
		['opt-out', true],
		['stop sending me offers please', false],
		['', false],
	])('a reply “%s” opts out: %s', (text, expected) => {
		expect(matchesKeyword(text, OPT_OUT_KEYWORDS)).toBe(expected);
	});

	test.each([['START'], ['unstop'], ['Alta']])('“%s” resubscribes', (text) => {
		expect(matchesKeyword(text, RESUBSCRIBE_KEYWORDS)).toBe(true);
	});

	test('normalisation folds case, accents and punctuation', () => {
		expect(normaliseKeyword('  Désabonner ! ')).toBe('desabonner');
	});

	const marketing = (footer: string): TemplateDefinition => ({
		name: 'promo',
		language: 'de',
		status: 'APPROVED',
		category: 'MARKETING',
		components: [
			{ type: 'BODY', text: 'New offers' },
			{ type: 'FOOTER', text: footer },
		],
	});

	// Every keyword the monitor honours is accepted as an opt-out path by the template check.
	test.each(OPT_OUT_KEYWORDS.map((k) => [k]))('a footer “Reply %s to leave” is an opt-out path', (keyword) => {
		expect(optOutPathWarning(marketing(`Reply ${keyword} to leave`))).toBeUndefined();
	});

	test('a footer with no keyword is flagged', () => {
		expect(optOutPathWarning(marketing('Viel Spaß'))).toMatch(/offers no way to opt out/);
	});
});
