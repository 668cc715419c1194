/**
 * What `pier init` reads from a Dockerfile (pure): global build arguments, the stages (name, base,
 * index), and per stage the ports it EXPOSEs, its HEALTHCHECK, VOLUMEs, ENV and CMD. Enough to
 * guess targets, port and health path; not a full Dockerfile parser (no heredocs, no escape
 * directive other than the default backslash).
 */

export interface Stage {
  index: number;
  /** `AS name`, lowercased as BuildKit does; undefined for an unnamed stage. */
  name?: string;
  /** The FROM reference as written (may contain `${ARG}`). */
  from: string;
  /** The FROM reference with global ARG defaults substituted. */
  fromResolved: string;
  /** FROM names an earlier stage (`FROM deps AS test`). */
  fromStage?: string;
  expose: number[];
  /** Request path the HEALTHCHECK command fetches, when it names an http URL. */
  healthPath?: string;
  healthcheck?: string;
  volumes: string[];
  env: Record<string, string>;
  cmd?: string;
  user?: string;
  /** Lines of RUN instructions (to spot a toolchain: go, javac, pip, npm). */
  runs: string[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM with their defaults ('' when none). */
  args: Record<string, string>;
  stages: Stage[];
}

/** Join backslash continuations, drop comments and blank lines; keep instruction order. */
export function logicalLines(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!cur && (line.startsWith('#') || !line)) continue;
    if (cur && line.startsWith('#')) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1).trimEnd()} `;
      continue;
    }
    out.push((cur + line).trim());
    cur = '';
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** `${NAME}`, `$NAME`, `${NAME:-default}` with the given values (unknown names left as written). */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, dflt: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = vars[name];
    if (v !== undefined && v !== '') return v;
    return dflt ?? m;
  });
}

/** `KEY=value KEY2="v 2"` or the legacy `KEY value` form. */
function parseKeyValues(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest)) {
    const m = /^(\S+)\s+(.*)$/.exec(rest);
    if (m) out[m[1]!] = m[2]!.trim();
    return out;
  }
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of rest.matchAll(re)) out[m[1]!] = m[2]!.replace(/^["']|["']$/g, '');
  return out;
}

/** The path of the first http(s)://host[:port]/path in a command, e.g. a curl/wget/fetch HEALTHCHECK. */
export function urlPath(command: string): string | undefined {
  const m = /https?:\/\/[^/\s'"`)]+(\/[^\s'"`)]*)?/.exec(command);
  if (!m) return undefined;
  if (m[1]) return m[1];
  // A URL built by concatenation: 'http://127.0.0.1:'+port+'/health'.
  const rest = command.slice(m.index + m[0].length);
  return /['"`](\/[A-Za-z0-9_\-./]*)['"`]/.exec(rest)?.[1] ?? '/';
}

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const m = /^(\w+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const stage = stages[stages.length - 1];
    if (instr === 'ARG') {
      const [, name, dflt] = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(rest) ?? [];
      if (name && !stage) args[name] = (dflt ?? '').replace(/^["']|["']$/g, '');
      continue;
    }
    if (instr === 'FROM') {
      const words = rest.split(/\s+/).filter((w) => !w.startsWith('--'));
      const from = words[0] ?? '';
      const asIdx = words.findIndex((w) => w.toUpperCase() === 'AS');
      const name = asIdx > 0 ? words[asIdx + 1]?.toLowerCase() : undefined;
      const fromResolved = substitute(from, args);
      const fromStage = stages.find((s) => s.name === fromResolved.toLowerCase())?.name;
      stages.push({ index: stages.length, name, from, fromResolved, fromStage, expose: [], volumes: [], env: {}, runs: [] });
      continue;
    }
    if (!stage) continue;
    const vars = { ...args, ...inheritedEnv(stages, stage) };
    switch (instr) {
      case 'EXPOSE':
        for (const w of rest.split(/\s+/)) {
          const p = Number(substitute(w, vars).split('/')[0]);
          if (Number.isInteger(p) && p > 0 && p < 65536) stage.expose.push(p);
        }
        break;
      case 'ENV':
        Object.assign(stage.env, parseKeyValues(rest));
        break;
      case 'VOLUME': {
        const list = rest.startsWith('[') ? safeJsonArray(rest) : rest.split(/\s+/);
        stage.volumes.push(...list.map((v) => substitute(v, vars)));
        break;
      }
      case 'HEALTHCHECK':
        if (/^NONE$/i.test(rest)) break;
        stage.healthcheck = rest.replace(/^(--\S+\s+)*CMD\s+/i, '');
        stage.healthPath = urlPath(substitute(stage.healthcheck, vars));
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        if (instr === 'CMD' || !stage.cmd) stage.cmd = rest.startsWith('[') ? safeJsonArray(rest).join(' ') : rest;
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'RUN':
        stage.runs.push(rest);
        break;
    }
  }
  return { args, stages };
}

/** ENV of a stage including what it inherits from the stages it is built FROM. */
function inheritedEnv(stages: Stage[], stage: Stage): Record<string, string> {
  const chain: Stage[] = [];
  for (let s: Stage | undefined = stage; s; s = s.fromStage ? stages.find((x) => x.name === s!.fromStage) : undefined) {
    chain.unshift(s);
    if (chain.length > stages.length) break;
  }
  return Object.assign({}, ...chain.map((s) => s.env));
}

/** ENV of a stage, inherited values included (exported for the detector). */
export function stageEnv(df: Dockerfile, stage: Stage): Record<string, string> {
  return inheritedEnv(df.stages, stage);
}

/** EXPOSEd ports of a stage including the ones it inherits. */
export function stageExpose(df: Dockerfile, stage: Stage): number[] {
  const seen: number[] = [];
  for (let s: Stage | undefined = stage; s && seen.length < 64; s = s.fromStage ? df.stages.find((x) => x.name === s!.fromStage) : undefined) {
    seen.push(...s.expose);
    if (!s.fromStage) break;
  }
  return [...new Set(seen)];
}

function safeJsonArray(s: string): string[] {
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v.map(String) : [s];
  } catch {
    return [s];
  }
}
