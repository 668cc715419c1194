import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { ConfigIssue } from '../util/errors.ts';

/** A parsed YAML file that can say where any key path sits in the source. */
export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  issues: ConfigIssue[];
  /** Line and column of the value at `path` (or of its nearest existing parent). */
  locate(path: readonly PropertyKey[], opts?: { key?: boolean }): { line: number; col: number } | undefined;
  value: unknown;
}

/** Parse YAML keeping positions. Syntax errors, duplicate keys and tab indentation become issues. */
export function parseYaml(file: string, text: string): YamlSource {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lc.linePos(e.pos[0]);
    const msg = e.code === 'DUPLICATE_KEY'
      ? 'duplicate key: each key may appear once in a mapping'
      : e.code === 'TAB_AS_INDENT'
        ? 'tab used for indentation: YAML indentation must be spaces'
        : `YAML syntax error: ${e.message.split('\n')[0]}`;
    issues.push({ file, line: pos.line, col: pos.col, path: pathAt(doc, e.pos[0]), message: msg });
  }
  // A tab right after a key's colon is legal YAML but almost always a slip; flag leading tabs only.
  text.split('\n').forEach((l, i) => {
    const m = /^( *)\t/.exec(l);
    if (m && !issues.some((x) => x.line === i + 1)) {
      issues.push({ file, line: i + 1, col: m[1]!.length + 1, path: '', message: 'tab used for indentation: YAML indentation must be spaces' });
    }
  });
  const locate = (path: readonly PropertyKey[], opts: { key?: boolean } = {}) => {
    let node: unknown = doc.contents;
    let best: number | undefined = (node as Node | null)?.range?.[0];
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node;
        if (opts.key && seg === path[path.length - 1]) return lc.linePos(keyNode.range![0]);
        best = keyNode.range?.[0];
        node = pair.value;
        if ((node as Node | null)?.range) best = (node as Node).range![0];
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!node) break;
        best = (node as Node).range?.[0] ?? best;
      } else break;
    }
    return best === undefined ? undefined : lc.linePos(best);
  };
  return { file, doc, issues, locate, value: issues.some((i) => !i.message.startsWith('duplicate')) ? undefined : doc.toJS() };
}

/** Best-effort key path for a source offset (used to label syntax errors). */
function pathAt(doc: Document.Parsed, offset: number): string {
  const parts: string[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 32; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as Node | null;
        const v = p.value as Node | null;
        const start = k?.range?.[0] ?? 0;
        const end = v?.range?.[2] ?? k?.range?.[2] ?? 0;
        return offset >= start && offset <= end;
      });
      if (!pair || !isScalar(pair.key)) break;
      parts.push(String(pair.key.value));
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((n) => {
        const r = (n as Node | null)?.range;
        return r && offset >= r[0] && offset <= r[2];
      });
      if (i < 0) break;
      parts[parts.length - 1] += `[${i}]`;
      node = node.items[i];
    } else break;
  }
  return parts.join('.');
}

/** `app.services.postgres` / `hosts[1].port` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out;
}
