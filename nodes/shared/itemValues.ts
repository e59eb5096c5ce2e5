import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

/** `$json.a.b` or `$json["a"].b`: a plain read of the current item, nothing else. */
const JSON_PATH = /^\s*\$json((?:\.[A-Za-z_$][\w$]*|\[\s*(?:"[^"\\]*"|'[^'\\]*')\s*\])+)\s*$/;
/** `={{ … }}` around plain reads joined by `??` (`{{ $json.whatsapp.recipient ?? $json.whatsapp.e164 }}`). */
const EXPRESSION = /^=\{\{([^{}]*)\}\}$/;

// Keyed by the execution context: getNode() returns a fresh deep copy of the node on every call.
const pathCache = new WeakMap<object, Map<string, string[][] | null>>();

const keysOf = (path: string) =>
	[...path.matchAll(/\.([A-Za-z_$][\w$]*)|\[\s*["']([^"']*)["']\s*\]/g)].map((m) => m[1] ?? m[2]);

/** The plain reads a parameter is made of, first to last, or null when it is anything else. */
function plainPaths(raw: unknown): string[][] | null {
	const expression = typeof raw === 'string' ? EXPRESSION.exec(raw) : null;
	if (!expression) return null;
	const paths: string[][] = [];
	for (const part of expression[1].split('??')) {
		const match = JSON_PATH.exec(part);
		if (!match) return null;
		paths.push(keysOf(match[1]));
	}
	return paths;
}

function plainPath(context: IExecuteFunctions, parameter: string): string[][] | null {
	let cache = pathCache.get(context);
	if (!cache) {
		cache = new Map();
		pathCache.set(context, cache);
	}
	if (!cache.has(parameter)) cache.set(parameter, plainPaths(context.getNode().parameters[parameter]));
	return cache.get(parameter)!;
}

/**
 * The value of an item-level parameter. A parameter that is only `{{ $json.field }}`, or such reads
 * joined by `??` (the defaults of our phone and consent fields), is read from the item directly: the
 * same value n8n's expression engine would give, without evaluating an expression per item, which
 * dominates the cost of large runs. Anything else goes through getNodeParameter.
 */
export function readItemValue(
	context: IExecuteFunctions,
	parameter: string,
	itemIndex: number,
	item: INodeExecutionData,
): unknown {
	const paths = plainPath(context, parameter);
	if (!paths) return context.getNodeParameter(parameter, itemIndex, undefined);
	let value: unknown;
	for (const path of paths) {
		value = item.json;
		for (const key of path) {
			if (value === null || typeof value !== 'object') {
				value = undefined;
				break;
			}
			value = (value as Record<string, unknown>)[key];
		}
		// `a ?? b`: the first that is neither null nor undefined, else the last as it is.
		if (value !== undefined && value !== null) return value;
	}
	return value;
}
