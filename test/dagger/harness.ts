/**
 * Shared set-up of the Dagger contract tests: a recording server answering like a Dagger session
 * (files of host directories read from disk, a trivy report, TAP output of the tests, a local app
 * for the service endpoint, digests for publish) and the env the SDK connects with.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { daggerSchemaFile, repoRoot } from '../helpers/paths.ts';
import { loadSchema, RecordingServer, type Step } from './recording-server.ts';

export const schemaFile = daggerSchemaFile;
/** Where test:dagger finds the count of validated queries to print. */
export const countFile = join(repoRoot, '.pier', 'dagger-contract.json');

export const DIGEST = `sha256:${'5d'.repeat(32)}`;

/** A trivy JSON report (SchemaVersion 2) with one LOW finding: passes a HIGH/CRITICAL policy. */
export const TRIVY_REPORT = JSON.stringify({
  SchemaVersion: 2,
  ArtifactName: '/scan/image.tar',
  Results: [
    {
      Target: 'app (debian 12)',
      Vulnerabilities: [{ VulnerabilityID: 'CVE-2024-0001', PkgName: 'libfoo', InstalledVersion: '1.0', FixedVersion: '1.1', Severity: 'LOW', Title: 'contract fixture' }],
    },
  ],
});

export const TAP_OUTPUT = ['TAP version 13', 'ok 1 - health', 'ok 2 - items', '# tests 2', '# pass 2', '# fail 0', ''].join('\n');

/** Host path addressed by a host().directory(...)[.directory|.file]* chain, if that is what it is. */
export function hostPath(steps: Step[]): string | undefined {
  if (steps[0]?.field !== 'host' || steps[1]?.field !== 'directory') return undefined;
  let p = String(steps[1].args.path);
  for (const s of steps.slice(2, -1)) {
    if (s.field !== 'directory' && s.field !== 'file') return undefined;
    p = join(p, String(s.args.path));
  }
  return p;
}

const withExecArgs = (steps: Step[]) => steps.filter((s) => s.field === 'withExec').map((s) => s.args.args as string[]);

/**
 * pier.yaml with a one-second load test and SLOs no loaded machine can miss: the contract tests
 * check the wiring through Dagger, not the speed of the stand-in app.
 */
export function shortPierYaml(text: string): string {
  return text
    .replace(/durationSeconds: \d+/, 'durationSeconds: 1')
    .replace(/warmupSeconds: \d+/, 'warmupSeconds: 0')
    .replace(/p95Ms: \d+/, 'p95Ms: 60000')
    .replace(/p99Ms: \d+/, 'p99Ms: 60000')
    .replace(/minRps: \d+/, 'minRps: 0');
}

export interface Harness {
  server: RecordingServer;
  appUrl: string;
  stop(): Promise<void>;
}

/** Start the recording server and a local app (the service endpoint answers there); set the SDK's env. */
export async function startHarness(): Promise<Harness> {
  const server = new RecordingServer(loadSchema(schemaFile));
  const app: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/health' ? '{"ok":true}' : '[]');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

  server
    .respond((steps) => {
      const last = steps.at(-1)!;
      const path = hostPath(steps);
      if (path !== undefined && last.field === 'contents') {
        const text = readFileSync(path, 'utf8');
        return path.endsWith('pier.yaml') ? shortPierYaml(text) : text;
      }
      if (path !== undefined && last.field === 'exists') return existsSync(join(path, String(last.args.path)));
      return undefined;
    })
    .respond((steps) => {
      const last = steps.at(-1)!;
      const execs = withExecArgs(steps);
      if (last.field === 'contents' && steps.at(-2)?.field === 'file' && steps.at(-2)?.args.path === '/scan/report.json') return TRIVY_REPORT;
      if (last.field === 'stdout' && execs.some((a) => a.join(' ') === 'npm test')) return TAP_OUTPUT;
      if (last.field === 'endpoint') return appUrl;
      if (last.field === 'publish') return `${String(last.args.address)}@${DIGEST}`;
      if (last.field === 'export') return String(last.args.path);
      if (last.field === 'plaintext' && steps[0]?.field === 'setSecret') return String(steps[0].args.plaintext);
      return undefined;
    });
  await server.start();

  const saved = { port: process.env.DAGGER_SESSION_PORT, token: process.env.DAGGER_SESSION_TOKEN };
  Object.assign(process.env, server.env());
  return {
    server,
    appUrl,
    async stop() {
      for (const [k, v] of [['DAGGER_SESSION_PORT', saved.port], ['DAGGER_SESSION_TOKEN', saved.token]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await server.stop();
      await new Promise<void>((r) => app.close(() => r()));
    },
  };
}
