/**
 * The proxy's log rotation and the readers that follow it: the host-side read script and the
 * rotation loop run for real with the local `sh` on files in a temp directory (a writer standing in
 * for nginx: appends through an open descriptor, switches to a new file only when told to reopen).
 * Every line written after the reader's mark is counted exactly once, across rotations.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseAccessLog } from '../../../src/deploy/access-log.ts';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { proxyCommand, ROTATE_LOOP, rotateConf, sizeBytes } from '../../../src/deploy/commands/log-rotate.ts';
import { afterRead, cursorArgs, parseMark, parseSections, type LogCursor } from '../../../src/deploy/log-cursor.ts';
import { ProxyLogs } from '../../../src/config/sections/proxy.ts';
import { newHostState, rotateLog, SimHost } from '../../sim/host.ts';

const run = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const line = (n: number, status = 200) => `{"msec":${n},"status":${status},"upstream":"api-v2:3000","release":"v2","upstream_status":"${status}","request_time":0.001,"uri":"/"}\n`;

/** nginx as far as its logs go: appends through an open descriptor; `rotate` renames like the loop, `reopen` opens the path afresh. */
function fakeNginx(file: string) {
  let fd = openSync(file, 'a');
  let n = 0;
  return {
    write: (count: number) => {
      for (let i = 0; i < count; i++) writeSync(fd, line(++n));
    },
    /** Half a line (a write in progress), completed by the next `finish`. */
    partial: () => writeSync(fd, line(++n).slice(0, 20)),
    finish: () => writeSync(fd, line(n).slice(20)),
    rotate: (keep: number) => {
      for (let i = keep - 1; i > 1; i--) if (existsSync(`${file}.${i - 1}`)) renameSync(`${file}.${i - 1}`, `${file}.${i}`);
      renameSync(file, `${file}.1`);
    },
    reopen: () => {
      closeSync(fd);
      fd = openSync(file, 'a');
    },
    get written() {
      return n;
    },
    close: () => closeSync(fd),
  };
}

/** A reader as the bake, canary and guard use it: mark, then reads that advance the cursor. */
function reader(file: string) {
  let cursor: LogCursor = parseMark(run(host.logMark(file)));
  const seen: number[] = [];
  return {
    read: () => {
      const r = afterRead(run(host.readLogSince(file, cursorArgs(cursor))), cursor);
      cursor = r.cursor;
      seen.push(...parseAccessLog(r.text).map((e) => e.msec));
      return r;
    },
    seen,
    get cursor() {
      return cursor;
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const tmp = () => mkdtempSync(join(tmpdir(), 'pier-logrot-'));

describe('reading the access log across rotations (real sh, real files)', () => {
  it('lines before the mark are not counted; lines before, during and after a rotation are counted once', () => {
    const f = join(tmp(), 'access.log');
    const ng = fakeNginx(f);
    ng.write(10); // before the switch: not the bake's
    const r = reader(f);
    ng.write(10); // 11..20
    r.read();
    ng.write(5); // 21..25
    ng.rotate(5); // renamed: nginx still writes to it until it reopens
    ng.write(3); // 26..28 into access.log.1
    r.read(); // between the rename and the reopen: access.log is missing
    ng.write(2); // 29..30, still into .1, after that read
    ng.reopen();
    ng.write(10); // 31..40 into the new access.log
    r.read();
    ng.write(5);
    ng.rotate(5);
    ng.reopen();
    ng.write(5);
    ng.rotate(5); // two rotations between reads
    ng.reopen();
    ng.write(5); // ..55
    r.read();
    r.read(); // nothing new: nothing counted twice
    expect(r.seen).toEqual(range(11, 55));
    expect(readdirSync(join(f, '..')).sort()).toEqual(['access.log', 'access.log.1', 'access.log.2', 'access.log.3']);
  });

  it('a line still being written is left for the next read (the offset stops before it)', () => {
    const f = join(tmp(), 'access.log');
    const ng = fakeNginx(f);
    const r = reader(f);
    ng.write(3);
    ng.partial();
    r.read();
    expect(r.seen).toEqual([1, 2, 3]);
    ng.finish();
    ng.rotate(3);
    ng.reopen();
    ng.write(2);
    r.read();
    expect(r.seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('the inode of a deleted file reused by the new live file (maxFiles 2) is read from 0, not from the old offset', () => {
    const f = join(tmp(), 'access.log');
    const ng = fakeNginx(f);
    const r = reader(f);
    ng.write(20);
    r.read(); // cursor: access.log at its end
    ng.rotate(2);
    ng.reopen();
    ng.write(20);
    r.read(); // cursor: .1 at its end, access.log at its end
    const old1 = statSync(`${f}.1`).ino;
    ng.rotate(2); // .1 deleted (replaced), its inode free
    ng.reopen(); // ext4 hands it out again, usually
    ng.write(3);
    const reused = statSync(f).ino === old1;
    r.read();
    expect(r.seen, `inode reused: ${reused}`).toEqual(range(1, 43));
  });

  it('a log that was not there at the mark is read from its first line', () => {
    const f = join(tmp(), 'access.log');
    const r = reader(f);
    expect(r.cursor).toEqual([]);
    const ng = fakeNginx(f);
    ng.write(5);
    ng.rotate(3);
    ng.reopen();
    ng.write(5);
    r.read();
    expect(r.seen).toEqual(range(1, 10));
  });

  it('a reader behind by more rotations than files are kept misses what was deleted, and never counts a line twice', () => {
    const f = join(tmp(), 'access.log');
    const ng = fakeNginx(f);
    const r = reader(f);
    ng.write(5);
    r.read();
    for (let i = 0; i < 3; i++) {
      ng.rotate(2);
      ng.reopen();
      ng.write(5);
    }
    r.read();
    r.read();
    expect(new Set(r.seen).size).toBe(r.seen.length);
    expect(r.seen.slice(0, 5)).toEqual(range(1, 5));
    expect(r.seen.slice(-5)).toEqual(range(16, 20));
  });
});

describe('the rotation loop (ROTATE_LOOP) with a stand-in nginx that reopens on USR1', () => {
  it('rotates by size, keeps maxFiles, and a reader polling meanwhile counts every line once', async () => {
    const dir = tmp();
    const f = join(dir, 'access.log');
    writeFileSync(join(dir, 'rotate.conf'), '60000 5 0.1\n');
    // The writer: a line every 5 ms through an open descriptor, reopened on SIGUSR1 (as nginx's master does).
    const writer = spawn(process.execPath, ['-e', `
      const fs = require('fs'); let fd = fs.openSync(${JSON.stringify(f)}, 'a'); let n = 0; let stop = false;
      process.on('SIGUSR1', () => { const old = fd; fd = fs.openSync(${JSON.stringify(f)}, 'a'); fs.closeSync(old); });
      process.on('SIGTERM', () => { stop = true; });
      const t = setInterval(() => { if (stop) { clearInterval(t); fs.writeSync(1, String(n)); process.exit(0); } fs.writeSync(fd, ${JSON.stringify(line(0).replace('0', '@'))}.replace('@', String(++n))); }, 5);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    writer.stdout.on('data', (b: Buffer) => (out += b));
    try {
      for (let i = 0; i < 50 && !existsSync(f); i++) await sleep(10);
      const loop = spawn('sh', ['-c', ROTATE_LOOP, 'pier-rotate', dir, String(writer.pid)], { stdio: 'ignore' });
      const r = reader(f);
      const first = readFirstMsec(f);
      try {
        // At least 5 reads, and on until the loop has rotated twice (bounded: 60 reads).
        for (let i = 0; i < 60 && (i < 5 || !existsSync(`${f}.2`)); i++) {
          await sleep(400);
          r.read();
        }
      } finally {
        loop.kill();
      }
      writer.kill('SIGTERM');
      await new Promise((res) => writer.once('exit', res));
      r.read();
      const written = Number(out);
      // Lines from the mark on: every one of them, once, in order within each file.
      const seen = [...r.seen].sort((a, b) => a - b);
      expect(seen[0]).toBeLessThanOrEqual(first + 5);
      expect(seen).toEqual(range(seen[0]!, written));
      expect(existsSync(`${f}.1`) && existsSync(`${f}.2`)).toBe(true);
      expect(existsSync(`${f}.5`)).toBe(false); // maxFiles 5: access.log, .1 .. .4
    } finally {
      writer.kill('SIGKILL');
    }
  }, 180_000);

  it('a rotate.conf that is not three whole numbers falls back to the defaults (20m: no rotation here)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rotate.conf'), '10 3 x1\n');
    writeFileSync(join(dir, 'access.log'), 'x'.repeat(100));
    const r = spawnSync('sh', ['-c', ROTATE_LOOP, 'pier-rotate', dir, String(process.pid)], { stdio: 'ignore', timeout: 700 });
    expect(r.error?.message).toMatch(/ETIMEDOUT/); // still looping (sleeping its default 30 s)
    expect(existsSync(join(dir, 'access.log.1'))).toBe(false);
  });

  it('over the size it rotates; the loop ends once nginx is gone (the signal fails)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rotate.conf'), '10 2 30\n');
    writeFileSync(join(dir, 'access.log'), 'x'.repeat(100));
    writeFileSync(join(dir, 'error.log'), 'e'.repeat(5));
    const r = spawnSync('sh', ['-c', ROTATE_LOOP, 'pier-rotate', dir, '999999'], { stdio: 'ignore', timeout: 5000 });
    expect(r.error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['access.log.1', 'error.log', 'rotate.conf']);
  });
});

function readFirstMsec(f: string): number {
  const e = parseAccessLog(run(host.readLogSince(f, [])));
  return e.length ? Math.max(...e.map((x) => x.msec)) : 0;
}

describe('log cursor parsing (pure)', () => {
  it('splits sections and keeps a partial last line out of the cursor (bytes, not characters)', () => {
    const out = `@pier-log 7 100 130\n{"a":"é"}\n{"b":1}\n{"c":\n@pier-log 9 0 8\n{"d":1}\n\n`;
    expect(parseSections(out).map((s) => [s.ino, s.start, s.size, s.text])).toEqual([
      ['7', 100, 130, '{"a":"é"}\n{"b":1}\n{"c":'],
      ['9', 0, 8, '{"d":1}\n'],
    ]);
    const r = afterRead(out, [{ ino: '7', offset: 100 }]);
    expect(r.text).toBe('{"a":"é"}\n{"b":1}\n{"d":1}\n');
    expect(r.cursor).toEqual([{ ino: '7', offset: 100 + 11 + 8 }, { ino: '9', offset: 8 }]);
  });
  it('no file on the host: the cursor stays; a mark of nothing is the empty cursor', () => {
    expect(afterRead('', [{ ino: '1', offset: 5 }])).toEqual({ text: '', cursor: [{ ino: '1', offset: 5 }] });
    expect(parseMark('')).toEqual([]);
    expect(parseMark('42 1234\n')).toEqual([{ ino: '42', offset: 1234 }]);
    expect(cursorArgs([{ ino: '4', offset: 0 }, { ino: '5', offset: 9 }])).toEqual(['4:0', '5:9']);
  });
});

describe('the simulated host follows a rotation as the script does', () => {
  it('lines before, during and after a rotation, once', () => {
    const s = newHostState('h', []);
    const h = new SimHost(s, { app: 'api', appPort: 3000, proxyPort: 80, healthPath: '/health', health: {}, registry: {}, now: () => 0 });
    const f = '/var/lib/pier/logs/access.log';
    s.files[f] = line(1) + line(2);
    let cursor = parseMark(h.exec(host.logMark(f)).stdout);
    const seen: number[] = [];
    const read = () => {
      const r = afterRead(h.exec(host.readLogSince(f, cursorArgs(cursor))).stdout, cursor);
      cursor = r.cursor;
      seen.push(...parseAccessLog(r.text).map((e) => e.msec));
    };
    s.files[f] += line(3);
    read();
    s.files[f] += line(4);
    rotateLog(s, f, 3, false);
    s.files[`${f}.1`] += line(5);
    read();
    s.files[`${f}.1`] += line(6);
    s.files[f] = line(7);
    read();
    rotateLog(s, f, 3);
    rotateLog(s, f, 3);
    s.files[f] += line(8);
    read();
    expect(seen).toEqual([3, 4, 5, 6, 7, 8]);
  });
});

describe('the proxy runs the loop; settings', () => {
  it('runProxy ends with the command: the loop in the background, nginx in the foreground', () => {
    const argv = docker.runProxy({ image: 'nginx:1.27', publicPort: 80, nginxDir: '/d/nginx', logDir: '/d/logs' });
    expect(argv.slice(-6)).toEqual(['nginx:1.27', ...proxyCommand()]);
    expect(proxyCommand().slice(0, 3)).toEqual(['sh', '-c', `sh -c "$1" pier-rotate /var/log/pier "$$" & exec nginx -g 'daemon off;'`]);
    expect(argv).toContain('/d/logs:/var/log/pier');
  });
  it('proxy.logs: defaults, sizes, bounds named', () => {
    expect(ProxyLogs.parse({})).toEqual({ maxSize: '20m', maxFiles: 5, checkSeconds: 30 });
    expect(sizeBytes('20m')).toBe(20 * 1024 * 1024);
    expect(sizeBytes('512k')).toBe(512 * 1024);
    expect(sizeBytes('4096')).toBe(4096);
    expect(rotateConf({ maxBytes: 1024, maxFiles: 3, checkSeconds: 10 })).toBe('1024 3 10\n');
    const bad = ProxyLogs.safeParse({ maxSize: '20MB', maxFiles: 1 });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'maxSize: a size: a number with k, m or g (1024 based), e.g. 20m',
      'maxFiles: Too small: expected number to be >=2',
    ]);
  });
});
