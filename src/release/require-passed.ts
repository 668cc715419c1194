/**
 * deploy.requirePassed: before a deploy touches a host of `target`, the environment it names
 * (e.g. staging) must hold a passing checks verdict for the image, read from that environment's
 * hosts (read-only). The verdict's digest is what `target` then pulls.
 */
import { withHosts } from '../deploy/fleet.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { ConfigError } from '../util/errors.ts';
import { readVerdicts } from './verdict-store.ts';
import { decideRequiredPass, type RequiredPassWant, type Verdict } from './verdicts.ts';

/** The passing verdict of `required` (the target of `target.settings.requirePassed`) for `want`; throws PromotionRefused (exit 1) otherwise. */
export async function requirePassed(target: DeployTarget, required: DeployTarget, want: RequiredPassWant): Promise<Verdict> {
  if (required.envName === target.envName) {
    throw new ConfigError([{ file: `environments/${target.envName}.yaml`, path: 'deploy.requirePassed', message: `expected another environment (whose checks must pass first, e.g. staging), got ${target.envName} itself` }]);
  }
  const verdicts = await withHosts(required, (ops) => readVerdicts(ops));
  return decideRequiredPass(target.envName, required.envName, want, verdicts);
}
