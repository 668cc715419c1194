/**
 * Read the repository into a RepoSnapshot for the detector: every path (bounded), the text of
 * manifests, Dockerfiles, compose files and source files (bounded in count and size). Skips
 * dependency, build and VCS directories.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { RepoSnapshot } from './detect.ts';

const SKIP = new Set(['.git', 'node_modules', '.pier', 'vendor', 'dist', 'build', 'target', '.venv', 'venv', '__pycache__', '.pytest_cache', '.idea', '.vscode', 'coverage']);
const READ = /^(Dockerfile|dockerfile|Containerfile|package\.json|pyproject\.toml|requirements[\w.-]*\.txt|setup\.py|Pipfile|go\.mod|pom\.xml|build\.gradle(\.kts)?|(docker-)?compose\.ya?ml|\.dockerignore|\.gitignore)$/;
const SOURCE = /\.(js|mjs|cjs|ts|py|go|java|kt|rb)$/;

export interface ScanLimits {
  maxPaths: number;
  maxSourceFiles: number;
  maxBytes: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: ScanLimits = { maxPaths: 5000, maxSourceFiles: 400, maxBytes: 256 * 1024, maxDepth: 8 };

export function scanRepo(dir: string, limits: ScanLimits = DEFAULT_LIMITS): RepoSnapshot {
  const paths: string[] = [];
  const files: Record<string, string> = {};
  let sources = 0;
  const walk = (d: string, depth: number) => {
    if (depth > limits.maxDepth || paths.length >= limits.maxPaths) return;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (paths.length >= limits.maxPaths) return;
      const full = join(d, e.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (e.isDirectory()) {
        if (!SKIP.has(e.name)) walk(full, depth + 1);
        continue;
      }
      if (!e.isFile()) continue;
      paths.push(rel);
      const wanted = (depth === 0 && READ.test(e.name)) || (SOURCE.test(e.name) && sources < limits.maxSourceFiles);
      if (!wanted) continue;
      try {
        if (statSync(full).size > limits.maxBytes) continue;
        files[rel] = readFileSync(full, 'utf8');
        if (SOURCE.test(e.name)) sources++;
      } catch {
        /* unreadable: skipped */
      }
    }
  };
  walk(dir, 0);
  return { dir, paths, files };
}
