/**
 * `npm run bench:faults`: the fault-injection harness (test/sim/) over every crash point of the
 * rolling, blue-green, canary and rollback scenarios on 3 simulated hosts, each fault kind (crash
 * after command k, command k fails, command k's host unreachable, a host down from the start),
 * each followed by the operator's recovery in a fresh process. Baseline in the same run: the
 * fault-free run of each scenario (its violations must be 0 too).
 *
 * Prints one JSON line last:
 *   {"bench":"faults","scenarios":4,"crash_points":..,"cases":..,"violations":..,"violating_cases":..,
 *    "recovered":..,"fault_free_violations":..,"seconds":..}
 * Options: --list (every violation, one line each, on stderr), --write-known FILE (the case ->
 * broken invariants map the unit test checks against).
 */
import { writeFileSync } from 'node:fs';
import { brokenInvariants, describe, SCENARIOS, seed, sweep, violationMap, withVirtualTime, type SweepResult } from '../test/sim/harness.ts';

const args = process.argv.slice(2);
const knownOut = args.includes('--write-known') ? args[args.indexOf('--write-known') + 1] : undefined;
const t0 = performance.now();
const results: SweepResult[] = await withVirtualTime(async () => {
  const start = await seed();
  const out: SweepResult[] = [];
  for (const s of SCENARIOS) out.push(await sweep(start, s));
  return out;
});
const seconds = (performance.now() - t0) / 1000;
const cases = results.flatMap((r) => r.cases);
const faulted = cases.filter((c) => c.fault);
if (args.includes('--list')) for (const c of cases) for (const l of describe(c)) process.stderr.write(`${l}\n`);
if (knownOut) writeFileSync(knownOut, `${JSON.stringify(violationMap(results), null, 2)}\n`);
console.log(
  JSON.stringify({
    bench: 'faults',
    scenarios: results.length,
    crash_points: faulted.length,
    commands: Object.fromEntries(results.map((r) => [r.scenario, r.n])),
    violations: faulted.reduce((n, c) => n + c.violations.length + c.unknown.length, 0),
    violating_cases: faulted.filter((c) => brokenInvariants(c)).length,
    recovered: faulted.filter((c) => c.recovered).length,
    fault_free_violations: cases.filter((c) => !c.fault).reduce((n, c) => n + c.violations.length + c.unknown.length, 0),
    seconds: Number(seconds.toFixed(1)),
  }),
);
