/**
 * Success and failure conditions of the analysis model (pure): a small expression language over
 * a measurement's named values, e.g. `error_rate > 5%`, `p95_ms > 2000`, `availability < 0.95`,
 * `canary.error_rate > baseline.error_rate + 0.02 && canary.requests >= 20`.
 *
 *   expr  := or;  or := and (('||'|'or') and)*;  and := not (('&&'|'and') not)*
 *   not   := ('!'|'not') not | cmp;  cmp := sum (('>'|'>='|'<'|'<='|'=='|'!=') sum)?
 *   sum   := prod (('+'|'-') prod)*;  prod := unary (('*'|'/') unary)*
 *   unary := '-' unary | number['%'] | name('.'name)* | '(' expr ')'
 *
 * A name the measurement lacks makes the condition undecidable (`undefined`): that measurement is
 * inconclusive, never silently true or false.
 */

export type Node =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'neg'; e: Node }
  | { k: 'not'; e: Node }
  | { k: 'bin'; op: string; a: Node; b: Node };

export interface Condition {
  readonly source: string;
  readonly ast: Node;
  /** Value names the condition reads. */
  readonly names: readonly string[];
}

/** A condition that does not parse: says where and what was expected. */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly source: string,
    readonly at: number,
    expected: string,
  ) {
    super(`condition "${source}": at column ${at + 1}: expected ${expected}`);
  }
}

type Tok = { t: 'num' | 'name' | 'op' | 'end'; v: string; at: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?%?|\.\d+%?)|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(>=|<=|==|!=|&&|\|\||[<>!+\-*/()]))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw new ConditionSyntaxError(src, i + (src.slice(i).length - src.slice(i).trimStart().length), 'a number, a name, an operator or a parenthesis');
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3])!.length;
    if (m[1] !== undefined) out.push({ t: 'num', v: m[1], at });
    else if (m[2] !== undefined) {
      const word = m[2];
      if (word === 'and' || word === 'or' || word === 'not') out.push({ t: 'op', v: word === 'and' ? '&&' : word === 'or' ? '||' : '!', at });
      else out.push({ t: 'name', v: word, at });
    } else out.push({ t: 'op', v: m[3]!, at });
    i = re.lastIndex;
  }
  out.push({ t: 'end', v: '', at: src.length });
  return out;
}

/** Parse a condition; throws ConditionSyntaxError naming the column. */
export function parseCondition(source: string): Condition {
  const toks = tokenize(source);
  let p = 0;
  const peek = () => toks[p]!;
  const isOp = (...ops: string[]) => peek().t === 'op' && ops.includes(peek().v);
  const bin = (next: () => Node, ops: string[]): Node => {
    let a = next();
    while (isOp(...ops)) {
      const op = toks[p++]!.v;
      a = { k: 'bin', op, a, b: next() };
    }
    return a;
  };
  const or = (): Node => bin(and, ['||']);
  const and = (): Node => bin(not, ['&&']);
  const not = (): Node => {
    if (isOp('!')) {
      p++;
      return { k: 'not', e: not() };
    }
    return cmp();
  };
  const cmp = (): Node => {
    const a = sum();
    if (isOp('>', '>=', '<', '<=', '==', '!=')) {
      const op = toks[p++]!.v;
      return { k: 'bin', op, a, b: sum() };
    }
    return a;
  };
  const sum = (): Node => bin(prod, ['+', '-']);
  const prod = (): Node => bin(unary, ['*', '/']);
  const unary = (): Node => {
    const t = peek();
    if (t.t === 'op' && t.v === '-') {
      p++;
      return { k: 'neg', e: unary() };
    }
    if (t.t === 'num') {
      p++;
      const pctSign = t.v.endsWith('%');
      const v = Number(pctSign ? t.v.slice(0, -1) : t.v);
      return { k: 'num', v: pctSign ? v / 100 : v };
    }
    if (t.t === 'name') {
      p++;
      return { k: 'var', name: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      p++;
      const e = or();
      if (!isOp(')')) throw new ConditionSyntaxError(source, peek().at, '")"');
      p++;
      return e;
    }
    throw new ConditionSyntaxError(source, t.at, t.t === 'end' ? 'a value after the operator (the condition ends here)' : `a number, a name or "(" (found "${t.v}")`);
  };
  if (peek().t === 'end') throw new ConditionSyntaxError(source, 0, 'a condition (it is empty)');
  const ast = or();
  if (peek().t !== 'end') throw new ConditionSyntaxError(source, peek().at, `an operator or the end (found "${peek().v}")`);
  if (!isBoolean(ast)) throw new ConditionSyntaxError(source, 0, 'a comparison such as error_rate > 0.05 (the condition is a number, not true/false)');
  const names = new Set<string>();
  const walk = (n: Node): void => {
    if (n.k === 'var') names.add(n.name);
    else if (n.k === 'neg' || n.k === 'not') walk(n.e);
    else if (n.k === 'bin') (walk(n.a), walk(n.b));
  };
  walk(ast);
  return { source, ast, names: [...names] };
}

const isBoolean = (n: Node): boolean => n.k === 'not' || (n.k === 'bin' && ['>', '>=', '<', '<=', '==', '!=', '&&', '||'].includes(n.op));

/** The values a measurement gives a condition: flat names (`error_rate`) or dotted (`canary.p95_ms`). */
export type Values = Readonly<Record<string, number | undefined>>;

/** Evaluate a condition; `undefined` when a value it reads is missing (or not a finite number). */
export function evaluate(c: Condition, values: Values): boolean | undefined {
  const MISSING = Symbol('missing');
  const ev = (n: Node): number | boolean => {
    switch (n.k) {
      case 'num':
        return n.v;
      case 'var': {
        const v = values[n.name];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw MISSING;
        return v;
      }
      case 'neg':
        return -Number(ev(n.e));
      case 'not':
        return !ev(n.e);
      case 'bin': {
        // && and || decide on one side when they can: a missing value on the other side is then irrelevant.
        if (n.op === '&&' || n.op === '||') {
          let a: boolean | typeof MISSING;
          try {
            a = Boolean(ev(n.a));
          } catch (e) {
            if (e !== MISSING) throw e;
            a = MISSING;
          }
          if (a === (n.op === '||')) return a as boolean;
          const b = Boolean(ev(n.b));
          if (a === MISSING) {
            if (b === (n.op === '||')) return b;
            throw MISSING;
          }
          return b;
        }
        const a = Number(ev(n.a));
        const b = Number(ev(n.b));
        // x / 0 has no value to judge: undecidable, like a missing value.
        if (Number.isNaN(a) || Number.isNaN(b)) throw MISSING;
        switch (n.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': return b === 0 ? Number.NaN : a / b;
          case '>': return a > b;
          case '>=': return a >= b;
          case '<': return a < b;
          case '<=': return a <= b;
          case '==': return a === b;
          case '!=': return a !== b;
        }
        throw new Error(`unknown operator ${n.op}`);
      }
    }
  };
  try {
    const r = ev(c.ast);
    return typeof r === 'boolean' ? r : undefined;
  } catch (e) {
    if (e === MISSING) return undefined;
    throw e;
  }
}
