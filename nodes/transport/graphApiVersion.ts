/**
 * The Graph API version new credentials use (Meta's current one; Meta keeps each version about two
 * years). A saved credential keeps the version it was saved with.
 */
export const DEFAULT_GRAPH_API_VERSION = 'v26.0';
