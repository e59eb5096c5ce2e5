/**
 * Stand-ins for the two n8n-nodes-base nodes our test workflows use around our own nodes, so the
 * harness does not need n8n-nodes-base (hundreds of dependencies). Same type names as n8n's, so the
 * workflow JSON imports into a real n8n unchanged.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeType } from 'n8n-workflow';

/** n8n's Manual Trigger; here it emits the items the test pins on it (RunOptions.items). */
class ManualTrigger implements INodeType {
	description = {
		displayName: 'When clicking ‘Execute workflow’',
		name: 'manualTrigger',
		group: ['trigger'],
		version: 1,
		description: 'Runs the flow on clicking a button in n8n',
		defaults: { name: 'When clicking ‘Execute workflow’' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

/** n8n's No Operation node: passes its items through. */
class NoOp implements INodeType {
	description = {
		displayName: 'No Operation, do nothing',
		name: 'noOp',
		group: ['organization'],
		version: 1,
		description: 'No Operation',
		defaults: { name: 'No Operation, do nothing' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [this.getInputData()];
	}
}

export function harnessNodeTypes(): Array<[string, INodeType]> {
	return [
		['n8n-nodes-base.manualTrigger', new ManualTrigger()],
		['n8n-nodes-base.noOp', new NoOp()],
	];
}
