/** The harness must be able to fail: invalid queries are flagged, valid ones are not. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaFile } from './harness.ts';
import { chain, loadSchema, RecordingServer } from './recording-server.ts';

describe('recording server', () => {
  let srv: RecordingServer;
  beforeAll(async () => {
    srv = new RecordingServer(loadSchema(schemaFile));
    await srv.start();
  });
  afterAll(async () => srv?.stop());

  const post = (query: string, token = srv.token) =>
    fetch(`http://127.0.0.1:${srv.port}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` },
      body: JSON.stringify({ query }),
    });

  it('answers a valid query with data shaped like the selection and records it as valid', async () => {
    const res = await post('{ container { from(address: "alpine") { withExec(args: ["true"], expect: ANY) { exitCode } } } }');
    expect(await res.json()).toEqual({ data: { container: { from: { withExec: { exitCode: 0 } } } } });
    expect(srv.recorded.at(-1)!.errors).toEqual([]);
  });

  it('flags fields the v0.21.8 schema does not have, wrong argument types and removed APIs', async () => {
    await post('{ container { from(address: "alpine") { withNope { id } } } }');
    await post('{ container { withExec(args: "not-a-list", expect: MAYBE) { id } } }');
    await post('{ loadContainerFromID(id: "x") { id } }');
    const bad = srv.recorded.slice(-3).map((r) => r.errors.join(' | '));
    expect(bad[0]).toMatch(/Cannot query field "withNope" on type "Container"/);
    expect(bad[1]).toMatch(/Value "MAYBE" does not exist in "ReturnType" enum/);
    expect(bad[2]).toMatch(/Cannot query field "loadContainerFromID" on type "Query"/);
  });

  it('refuses a wrong session token', async () => {
    expect((await post('{ version }', 'wrong')).status).toBe(401);
  });

  it('follows node(id:) selections through inline fragments', () => {
    const { steps } = chain(srv.schema, '{ node(id: "c1") { ... on Container { file(path: "/a") { contents } } } }');
    expect(steps.map((s) => `${s.parent}.${s.field}`)).toEqual(['Query.node', 'Container.file', 'File.contents']);
  });
});
