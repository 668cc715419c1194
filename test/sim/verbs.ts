/**
 * The pier verbs the harness drives, in one place: when the deploy modules move (ops.ts split
 * into rollback / queries / lock admin), only these imports change.
 */
export { deploy, type DeployReport } from '../../src/deploy/deploy.ts';
export { LockHeldError } from '../../src/deploy/lock.ts';
export { lockRelease, lockStatus, releases, rollback, status, type RollbackReport } from '../../src/deploy/ops.ts';
