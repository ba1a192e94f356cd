export const QUEUE_DASHBOARD_PATH = '/admin/queues';
