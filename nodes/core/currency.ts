/**
 * Currency codes: ISO 4217, as Meta's template `currency` parameter and the operator's rate card take
 * them. A code is three capital letters that the runtime's ICU data knows as a currency
 * (`Intl.supportedValuesOf('currency')`), so "EUR" passes and "EUX" or "eur" do not.
 */
let known: ReadonlySet<string> | undefined;

export function isCurrencyCode(code: unknown): code is string {
	if (typeof code !== 'string' || !/^[A-Z]{3}$/.test(code)) return false;
	known ??= new Set(Intl.supportedValuesOf('currency'));
	return known.has(code);
}
