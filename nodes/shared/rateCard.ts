/** The Rate Card parameter of Campaign Control and Template Send: read once, a mistake says what to fix. */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import { parseRateCard, type RateCard } from '../core/pricing';

/** The operator's rate card, or undefined when the field is empty; a mistake stops the node, naming it. */
export function readRateCard(
	context: IExecuteFunctions,
	text: string | undefined,
	currency: string | undefined,
	itemIndex?: number,
): RateCard | undefined {
	if (!text?.trim()) return undefined;
	const parsed = parseRateCard(text, currency);
	if ('error' in parsed)
		throw new NodeOperationError(context.getNode(), `Rate Card: ${parsed.error}`, {
			itemIndex,
			description: 'CSV lines "country,category,rate" or JSON {"currency":"EUR","rates":{"FR":{"marketing":0.0859}}}',
		});
	return parsed.card;
}
