/** The tenant every request belongs to until API keys assign one. */
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-000000000001';
