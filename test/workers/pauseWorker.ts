/** Another process pausing a campaign, as Campaign Control in another execution would. Prints when it committed. */
import { SqliteStore } from '../../nodes/store/SqliteStore';

const { file, campaignId } = JSON.parse(process.argv[2]) as { file: string; campaignId: string };
const store = SqliteStore.open(file);
void store.campaigns
	.setPause({ scope: 'campaign', id: campaignId, paused: true, reason: 'Paused from a test', at: Date.now() })
	.then(async () => {
		process.stdout.write(String(Date.now()));
		await store.close();
	});
