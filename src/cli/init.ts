import { PierError } from '../util/errors.ts';
import { runInit, type InitResult } from '../init/init.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier init [DIR] [options]

Look at the repository (Dockerfile and its stages, EXPOSE, HEALTHCHECK, package.json,
pyproject.toml, requirements.txt, go.mod, test files, a compose file, the env variables the code
reads) and write pier.yaml, environments/{dev,staging,production}.yaml and *.env.example, a
compose file when there is none (else compose.pier.yaml over yours), and .gitignore /
.dockerignore entries. With a Docker engine it builds the image and probes likely health paths
(bounded: build 10 min, first answer 45 s). Prints what it guessed, from where, and what to check.
A file that exists is never overwritten: run it again after deleting one to regenerate it.

Options:
  --no-probe   do not build and run the image (static guesses only)
  --dry-run    print what would be written, write nothing
  --json       print the result as JSON`;

const options = { ...commonOptions, 'no-probe': { type: 'boolean' }, 'dry-run': { type: 'boolean' } } as const;

export function formatSummary(r: InitResult): string {
  const d = r.detection;
  const g = (label: string, value: string, source: string) => `  ${label.padEnd(10)} ${value}  (${source})`;
  const lines = [
    `pier init: ${r.root}`,
    'guessed:',
    g('app', d.name.value, d.name.source),
    g('language', d.language.value, d.language.source),
    ...(d.version ? [g('version', d.version.value, d.version.source)] : []),
    g('stages', d.stages.map((s) => s.name ?? `#${s.index} (unnamed)`).join(', ') || '-', d.dockerfile ?? 'no Dockerfile'),
    ...(d.targets.runtime ? [g('runtime', d.targets.runtime.value, d.targets.runtime.source)] : []),
    ...(d.targets.test ? [g('test in', d.targets.test.value, d.targets.test.source)] : []),
    g('port', String(d.port.value), d.port.source),
    g('health', r.healthPath, r.probe?.status === 'found' ? `answered 2xx on the built image in ${r.probe.seconds} s` : d.health.source),
    g('tests', d.test ? d.test.value.join(' ') : 'none', d.test?.source ?? 'nothing found'),
    ...(Object.keys(d.services).length ? [g('services', Object.keys(d.services).join(', '), d.compose?.file ?? '')] : []),
    'files:',
    ...r.files.map((f) => `  ${f.action.padEnd(9)} ${f.path}${f.action === 'kept' ? ' (exists: not touched)' : f.added ? ` (+ ${f.added.join(', ')})` : ''}`),
    'check:',
    ...r.notes.map((n) => `  - ${n}`),
    ...r.warnings.map((w) => `warning: ${w}`),
    'next: npx pier config --env dev && npx pier ci && npx pier env up dev',
  ];
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) return console.log(help), 0;
  if (positionals.length > 1) throw new PierError(`pier init: expected at most one directory, got ${positionals.join(' ')}`, 2);
  const r = await runInit(positionals[0] ?? process.cwd(), {
    probe: !values['no-probe'],
    dryRun: values['dry-run'],
    probeOptions: { onProgress: values.json ? undefined : (l) => console.error(`  ${l}`) },
  });
  if (values.json) printJson(r);
  else console.log(formatSummary(r));
  return 0;
}
