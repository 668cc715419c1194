/** The strategy registry: `deploy.strategy` in the environment file picks one. */
import { blueGreen } from './blue-green.ts';
import { canary } from './canary.ts';
import { rolling } from './rolling.ts';
import type { Strategy } from './types.ts';

const strategies: Record<string, Strategy> = { rolling, 'blue-green': blueGreen, canary };

/** The strategy named `name` (validated by the config schema, so unknown names are a bug). */
export function strategyFor(name: string): Strategy {
  const s = strategies[name];
  if (!s) throw new Error(`unknown deploy strategy "${name}"`);
  return s;
}
