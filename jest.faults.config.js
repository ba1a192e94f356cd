/**
 * The fault suite (`npm run test:faults`): scenarios that kill and restart the service's own
 * PostgreSQL, Redis and processes, and a fuzz test of hostile requests. Run in band, apart from
 * `npm test`, because it owns the machine's CPU while it runs.
 */
const base = require('./jest.config');

const e2e = base.projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testTimeout: 300000,
  projects: [{ ...e2e, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] }],
};
