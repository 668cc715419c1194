/**
 * The pier verbs the harness drives, in one place: when the deploy modules move, only these
 * imports change.
 */
export { deploy, type DeployReport } from '../../src/deploy/deploy.ts';
export { LockHeldError } from '../../src/deploy/lock.ts';
export { lockRelease, lockStatus } from '../../src/deploy/lock-admin.ts';
export { releases, status } from '../../src/deploy/queries.ts';
export { rollback, type RollbackReport } from '../../src/deploy/rollback.ts';
