/**
 * Progress output on stderr (stdout stays free for `--json`): on a TTY one live line per stage
 * (stage, elapsed, live figures) redrawn in place; elsewhere (CI) plain lines.
 */
export interface Progress {
  start(stage: string): void;
  /** Live figure of the current stage, e.g. "1234 req/s". */
  live(text: string): void;
  /** A plain log line (build/test output in verbose mode, notices). */
  note(text: string): void;
  end(stage: string, status: string, detail?: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, opts: { quiet?: boolean } = {}): Progress {
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  let stage = '';
  let started = 0;
  let liveText = '';
  let timer: NodeJS.Timeout | undefined;
  let lastPlain = 0;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const draw = () => stream.write(`\r\x1b[2K▶ ${stage} ${elapsed()}${liveText ? `  ${liveText}` : ''}`);
  const write = (line: string) => {
    if (opts.quiet) return;
    if (tty) stream.write('\r\x1b[2K');
    stream.write(`${line}\n`);
    if (tty && stage) draw();
  };
  return {
    start(name) {
      stage = name;
      started = Date.now();
      liveText = '';
      if (opts.quiet) return;
      if (tty) {
        draw();
        timer = setInterval(draw, 250);
        timer.unref();
      } else stream.write(`[pier] ${name}: started\n`);
    },
    live(text) {
      liveText = text;
      // Plain output: at most one live line every 2 s so CI logs stay readable.
      if (!tty && !opts.quiet && Date.now() - lastPlain >= 2000) {
        lastPlain = Date.now();
        stream.write(`[pier] ${stage}: ${elapsed()} ${text}\n`);
      }
    },
    note(text) {
      write(tty ? `  ${text}` : `[pier] ${stage || 'pier'}: ${text}`);
    },
    end(name, status, detail) {
      clearInterval(timer);
      const line = `${status === 'passed' ? '✓' : status === 'failed' ? '✗' : '-'} ${name} ${status} ${elapsed()}${detail ? `  ${detail}` : ''}`;
      stage = '';
      write(tty ? line : `[pier] ${line}`);
    },
  };
}
