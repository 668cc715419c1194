/**
 * Whose containers a compose project holds. `docker compose down` (and `up --remove-orphans`)
 * act on every container labelled with the project name, whichever repository started it; pier
 * refuses to act when a container of the project belongs to another app (its `pier.app` label)
 * or, lacking that label, was started from another directory (compose's own working_dir label).
 */
import { UsageError } from '../util/errors.ts';
import type { ExecOptions, ExecResult } from '../util/exec.ts';

export interface ProjectContainer {
  name: string;
  labels: Record<string, string>;
}

const PROJECT = 'com.docker.compose.project';
const WORKING_DIR = 'com.docker.compose.project.working_dir';

/** Ids of every container of the project, running or not. */
export const projectContainersArgv = (project: string): string[] => ['docker', 'ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${PROJECT}=${project}`];

/** One JSON object per line: name and labels. */
export const inspectLabelsArgv = (ids: string[]): string[] => ['docker', 'inspect', '--format', '{"name":{{json .Name}},"labels":{{json .Config.Labels}}}', ...ids];

export function parseInspectLines(out: string): ProjectContainer[] {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const v = JSON.parse(l) as { name: string; labels: Record<string, string> | null };
      return { name: v.name.replace(/^\//, ''), labels: v.labels ?? {} };
    });
}

/** Containers that are not this app's (pure). */
export function foreignContainers(list: ProjectContainer[], own: { app: string; workingDir: string }): (ProjectContainer & { owner: string })[] {
  const out: (ProjectContainer & { owner: string })[] = [];
  for (const c of list) {
    const app = c.labels['pier.app'];
    const dir = c.labels[WORKING_DIR];
    if (app !== undefined && app !== own.app) out.push({ ...c, owner: `app ${app}${dir ? ` (${dir})` : ''}` });
    else if (app === undefined && dir !== undefined && dir !== own.workingDir) out.push({ ...c, owner: `compose files in ${dir}` });
  }
  return out;
}

type Runner = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * Throw (exit 2) before `up`/`down` when project `project` holds another app's containers,
 * naming them and their owner. `workingDir` is the directory of the first compose file, the one
 * compose records.
 */
export async function assertOwnProject(run: Runner, project: string, own: { app: string; workingDir: string }, action: string): Promise<void> {
  const ids = (await run(projectContainersArgv(project))).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (!ids.length) return;
  const foreign = foreignContainers(parseInspectLines((await run(inspectLabelsArgv(ids))).stdout), own);
  if (!foreign.length) return;
  const list = foreign.slice(0, 5).map((c) => `${c.name} (${c.owner})`).join(', ');
  throw new UsageError(
    `compose project ${project} holds containers of another app: ${list}${foreign.length > 5 ? ` and ${foreign.length - 5} more` : ''}; pier env ${action} would remove them, so it did nothing`,
    `stop them from their own repository, or use --project NAME for a project of this app's own`,
  );
}
