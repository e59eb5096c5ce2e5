/**
 * ../contactIdentity.test.ts, with the Delivery Monitor receiving on its own port (the Own Port trigger) instead
 * of through n8n's webhook layer: a webhook must mean the same whichever path receives it.
 */
process.env.MONITOR_RECEIVER = 'ownPort';
require('../contactIdentity.test');
