import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { GraphApiClient, graphApiConfigFromCredentials, toGraphApiError } from './GraphApiClient';

/**
 * Credential test for `whatsAppCloudApi`, referenced by nodes as `testedBy: 'whatsAppCloudApiTest'`.
 * Asks for the sending phone number, so a wrong phone number ID fails here and not mid-campaign,
 * and returns Meta's own message when it fails.
 */
export async function whatsAppCloudApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const config = graphApiConfigFromCredentials(credential.data ?? {});
		if (!config.phoneNumberId) return { status: 'Error', message: 'Enter the Phone Number ID' };
		const phone = await new GraphApiClient(config).getPhoneNumber('display_phone_number,verified_name,quality_rating');
		const name = phone.verified_name ? ` (${phone.verified_name})` : '';
		return { status: 'OK', message: `Connected to ${phone.display_phone_number ?? config.phoneNumberId}${name}` };
	} catch (error) {
		const apiError = toGraphApiError(error);
		const code = apiError.code === undefined ? '' : ` (Meta error ${apiError.code})`;
		return { status: 'Error', message: `${apiError.message}${code}` };
	}
}
