/** Opt-out and resubscribe keywords, and how a reply is matched against them. */

/** Case-, accent- and space-insensitive form of a reply, for keyword matching ("Arrêt " → "arret"). */
export function normaliseKeyword(text: string): string {
	return text
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[\s.!¡?¿'"’]+/g, ' ')
		.trim();
}

/**
 * Words people use to stop messages, in the languages we listen for by default: the Delivery Monitor
 * opts out a reply that is one of them, and Template Send's opt-out-path check looks for one in a
 * marketing template's footer, body or quick replies.
 */
export const OPT_OUT_KEYWORDS = [
	'STOP',
	'STOP ALL',
	'UNSUBSCRIBE',
	'CANCEL',
	'END',
	'QUIT',
	'OPT OUT',
	'OPTOUT',
	'OPT-OUT',
	'ARRET',
	'ARRÊT',
	'STOP PUB',
	'DESABONNER',
	'DÉSABONNER',
	'DESINSCRIRE',
	'DÉSINSCRIRE',
	'BAJA',
	'DAR DE BAJA',
	'PARAR',
	'CANCELAR',
	'SAIR',
	'DESCADASTRAR',
	'PARE',
	'ABMELDEN',
	'ABBESTELLEN',
	'STOPP',
	'DISISCRIVITI',
	'CANCELLAMI',
	'BASTA',
];
export const RESUBSCRIBE_KEYWORDS = ['START', 'UNSTOP', 'SUBSCRIBE', 'ALTA', 'INICIAR', 'ANMELDEN'];

/** Exact match after normalisation: "Stop" and "STOP!" opt out, "stop sending me offers please" does not. */
export function matchesKeyword(text: string | undefined, keywords: readonly string[]): boolean {
	if (!text) return false;
	const wanted = normaliseKeyword(text);
	return keywords.some((keyword) => normaliseKeyword(keyword) === wanted);
}

/** One of OPT_OUT_KEYWORDS as a word or words within a longer text ("Reply STOP to unsubscribe"). */
const OPT_OUT_WORD = new RegExp(
	`(^|[^\\p{L}])(${OPT_OUT_KEYWORDS.map((k) => k.replace(/[- ]/g, '[- ]?')).join('|')})($|[^\\p{L}])`,
	'iu',
);

/**
 * Whether a text names an opt-out keyword as a word: a footer "Reply STOP to unsubscribe", a quick-reply
 * button "Stop promotions" (the label of the marketing opt-out button Meta's template editor offers).
 * Template Send's opt-out-path check looks for such a text in a marketing template; the Delivery
 * Monitor reads a tap on such a button as a marketing opt-out, whatever payload the template set.
 */
export function namesOptOutKeyword(text: string | undefined): boolean {
	return text !== undefined && OPT_OUT_WORD.test(text);
}
