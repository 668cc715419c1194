import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEngineChoice, selectEngine } from '../../../src/engine/select.ts';
import { findOnPath } from '../../../src/util/find-on-path.ts';
import { publishedDigest, registryHost } from '../../../src/engine/dagger.ts';
import { ExitCode, PierError } from '../../../src/util/errors.ts';

describe('selectEngine', () => {
  it('auto picks Dagger inside a Dagger session, even without a CLI', () => {
    expect(selectEngine('auto', { DAGGER_SESSION_PORT: '4321' }, undefined)).toEqual({
      engine: 'dagger',
      reason: 'auto: inside a Dagger session (DAGGER_SESSION_PORT=4321)',
    });
  });
  it('auto picks Dagger when a dagger CLI is on PATH and passes its path on', () => {
    expect(selectEngine('auto', {}, '/usr/local/bin/dagger')).toEqual({
      engine: 'dagger',
      reason: 'auto: dagger CLI found at /usr/local/bin/dagger',
      cliPath: '/usr/local/bin/dagger',
    });
  });
  it('auto falls back to Docker', () => {
    expect(selectEngine('auto', { DAGGER_SESSION_PORT: '' }, undefined)).toEqual({
      engine: 'docker',
      reason: 'auto: no Dagger session and no dagger CLI on PATH',
    });
  });
  it('an explicit choice wins over the environment', () => {
    expect(selectEngine('docker', { DAGGER_SESSION_PORT: '1' }, '/bin/dagger').engine).toBe('docker');
    expect(selectEngine('dagger', {}, undefined)).toEqual({ engine: 'dagger', reason: '--engine dagger' });
    expect(selectEngine('dagger', { DAGGER_SESSION_PORT: '9' }, '/bin/dagger')).toEqual({
      engine: 'dagger',
      reason: '--engine dagger (session on port 9)',
    });
  });
});

describe('parseEngineChoice', () => {
  it('defaults to auto and accepts the three names', () => {
    expect(parseEngineChoice(undefined)).toBe('auto');
    expect(parseEngineChoice('dagger')).toBe('dagger');
  });
  it('rejects anything else with a usage error (exit 2)', () => {
    try {
      parseEngineChoice('podman');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PierError);
      expect((e as PierError).exitCode).toBe(ExitCode.usage);
      expect((e as Error).message).toBe('--engine: expected one of auto, docker, dagger, got "podman"');
    }
  });
});

describe('findOnPath', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pier-path-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('finds an executable and ignores a non-executable file', () => {
    writeFileSync(join(dir, 'dagger'), '#!/bin/sh\n');
    expect(findOnPath('dagger', `/nonexistent:${dir}`)).toBeUndefined();
    chmodSync(join(dir, 'dagger'), 0o755);
    expect(findOnPath('dagger', `/nonexistent:${dir}`)).toBe(join(dir, 'dagger'));
    expect(findOnPath('dagger', '')).toBeUndefined();
  });
});

describe('Dagger engine helpers', () => {
  it('registryHost finds the registry of a reference', () => {
    expect(registryHost('127.0.0.1:5000/pier/example-api:1')).toBe('127.0.0.1:5000');
    expect(registryHost('ghcr.io/acme/api:1')).toBe('ghcr.io');
    expect(registryHost('localhost/api')).toBe('localhost');
    expect(registryHost('acme/api:1')).toBe('docker.io');
    expect(registryHost('api')).toBe('docker.io');
  });
  it('publishedDigest reads the digest Container.publish returns, and refuses a reference without one', () => {
    const d = `sha256:${'ab'.repeat(32)}`;
    expect(publishedDigest(`127.0.0.1:5000/pier/x:1@${d}`)).toBe(d);
    expect(() => publishedDigest('127.0.0.1:5000/pier/x:1')).toThrow(/no digest/);
    expect(() => publishedDigest('127.0.0.1:5000/pier/x:1@sha256:abc')).toThrow(/no digest/);
  });
});
