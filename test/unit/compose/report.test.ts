import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeEnvReport } from '../../../src/compose/report.ts';
import { registerSecret } from '../../../src/util/redact.ts';

const root = mkdtempSync(join(tmpdir(), 'pier-env-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeEnvReport', () => {
  it('writes .pier/runs/<id>/report.json with secrets redacted', () => {
    registerSecret('s3cret-db-password-value');
    const path = writeEnvReport(root, {
      runId: '20261123-190000-abcd', command: 'env up', env: 'staging', project: 'pier-staging', status: 'failed', exitCode: 3,
      startedAt: '2026-11-23T19:00:00.000Z', built: [], services: [],
      error: 'service "app" of pier-staging is unhealthy\nDATABASE_URL=postgres://api:s3cret-db-password-value@postgres:5432/api',
    });
    expect(path).toBe(join(root, '.pier/runs/20261123-190000-abcd/report.json'));
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('s3cret-db-password-value');
    expect(JSON.parse(text)).toMatchObject({ status: 'failed', exitCode: 3, env: 'staging' });
  });
});
