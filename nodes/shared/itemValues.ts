import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

/** `={{ $json.a.b }}` or `={{ $json["a"].b }}`: a plain read of the current item, nothing else. */
const PLAIN_JSON_PATH = /^=\{\{\s*\$json((?:\.[A-Za-z_$][\w$]*|\[\s*(?:"[^"\\]*"|'[^'\\]*')\s*\])+)\s*\}\}$/;

// Keyed by the execution context: getNode() returns a fresh deep copy of the node on every call.
const pathCache = new WeakMap<object, Map<string, string[] | null>>();

function plainPath(context: IExecuteFunctions, parameter: string): string[] | null {
	let cache = pathCache.get(context);
	if (!cache) {
		cache = new Map();
		pathCache.set(context, cache);
	}
	if (!cache.has(parameter)) {
		const raw = context.getNode().parameters[parameter];
		const match = typeof raw === 'string' ? PLAIN_JSON_PATH.exec(raw) : null;
		cache.set(
			parameter,
			match
				? [...match[1].matchAll(/\.([A-Za-z_$][\w$]*)|\[\s*["']([^"']*)["']\s*\]/g)].map((m) => m[1] ?? m[2])
				: null,
		);
	}
	return cache.get(parameter)!;
}

/**
 * The value of an item-level parameter. A parameter that is only `{{ $json.field }}` (the default of
 * our phone and consent fields) is read from the item directly: the same value n8n's expression engine
 * would give, without evaluating an expression per item, which dominates the cost of large runs.
 * Anything else goes through getNodeParameter.
 */
export function readItemValue(
	context: IExecuteFunctions,
	parameter: string,
	itemIndex: number,
	item: INodeExecutionData,
): unknown {
	const path = plainPath(context, parameter);
	if (!path) return context.getNodeParameter(parameter, itemIndex, undefined);
	let value: unknown = item.json;
	for (const key of path) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}
