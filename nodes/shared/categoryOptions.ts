import type { INodePropertyOptions } from 'n8n-workflow';

import { MESSAGE_CATEGORIES } from '../core/types';

/** Meta's template categories as panel options, in core's order. */
export const categoryOptions: INodePropertyOptions[] = MESSAGE_CATEGORIES.map((category) => ({
	name: category[0].toUpperCase() + category.slice(1),
	value: category,
}));
