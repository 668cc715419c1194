import { describe, expect, it } from 'vitest';
import { logicalLines, parseDockerfile, stageExpose, substitute, urlPath } from '../../../src/init/dockerfile.ts';

describe('Dockerfile reading', () => {
  it('joins continuations and drops comments', () => {
    expect(logicalLines('# c\nRUN a \\\n  # inside\n  && b\n\nCMD x\n')).toEqual(['RUN a && b', 'CMD x']);
  });

  it('stages: global ARGs, names lowercased, FROM a stage, inherited EXPOSE, ports from variables', () => {
    const df = parseDockerfile(
      ['ARG BASE=debian:bookworm', 'ARG PORT=9000', 'FROM --platform=$BUILDPLATFORM ${BASE} AS Build', 'ENV APP_PORT=7000', 'EXPOSE ${APP_PORT}', 'FROM build AS final', 'EXPOSE 8080/tcp $PORT', 'FROM scratch'].join('\n'),
    );
    expect(df.args).toEqual({ BASE: 'debian:bookworm', PORT: '9000' });
    expect(df.stages.map((s) => [s.name, s.fromResolved, s.fromStage])).toEqual([
      ['build', 'debian:bookworm', undefined],
      ['final', 'build', 'build'],
      [undefined, 'scratch', undefined],
    ]);
    expect(df.stages[0]!.expose).toEqual([7000]);
    expect(stageExpose(df, df.stages[1]!)).toEqual([8080, 9000, 7000]);
  });

  it('HEALTHCHECK paths: curl, wget, exec form, concatenated URL, NONE', () => {
    const hc = (line: string) => parseDockerfile(`FROM x\n${line}`).stages[0]!.healthPath;
    expect(hc('HEALTHCHECK --interval=5s CMD curl -fsS http://localhost:8000/healthz || exit 1')).toBe('/healthz');
    expect(hc('HEALTHCHECK CMD ["wget", "-qO-", "http://127.0.0.1:3000/api/health?x=1"]')).toBe('/api/health?x=1');
    expect(hc(`HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready')"`)).toBe('/ready');
    expect(hc('HEALTHCHECK CMD curl -f http://localhost:8000')).toBe('/');
    expect(hc('HEALTHCHECK NONE')).toBeUndefined();
    expect(urlPath('pg_isready')).toBeUndefined();
  });

  it('substitutes ${A}, $A and ${A:-default}, leaving unknown names', () => {
    expect(substitute('${A}-$B-${C:-c}-${D}', { A: 'a', B: 'b' })).toBe('a-b-c-${D}');
  });

  it('ENV in both forms, VOLUME in both forms, CMD exec form', () => {
    const s = parseDockerfile('FROM x\nENV A=1 B="two words"\nENV LEGACY some value\nVOLUME ["/data", "/cache"]\nVOLUME /more\nCMD ["python3", "-m", "app"]\n').stages[0]!;
    expect(s.env).toEqual({ A: '1', B: 'two words', LEGACY: 'some value' });
    expect(s.volumes).toEqual(['/data', '/cache', '/more']);
    expect(s.cmd).toBe('python3 -m app');
  });
});
