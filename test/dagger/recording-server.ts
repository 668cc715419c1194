/**
 * A stand-in for a Dagger session: serves the SDK's GraphQL endpoint on 127.0.0.1, records every
 * query, and answers with plausible data shaped by the real v0.21.8 schema. Nothing is executed:
 * the point is to capture exactly what the real SDK sends so each query can be validated against
 * Dagger's schema and the calls that matter asserted.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  Kind,
  parse,
  validate,
  valueFromASTUntyped,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** One field of a recorded query's selection chain, outermost first. */
export interface Step {
  field: string;
  args: Record<string, unknown>;
  /** Name of the type the field is declared on (e.g. Container). */
  parent: string;
}

export interface Recorded {
  query: string;
  /** The session whose token sent it ('' for the default token). */
  session: string;
  /** The query's own selection chain. */
  steps: Step[];
  /**
   * The chain with `node(id:)` expanded into the chain that produced that id, so assertions can
   * follow an object from its origin (e.g. host.directory -> dockerBuild -> ... -> publish).
   */
  logical: Step[];
  /** Validation errors against the schema ([] when valid). */
  errors: string[];
}

/** What a responder returns to make the query fail like the engine does (e.g. a pull or a build error). */
export class GraphQLFailure {
  constructor(
    readonly message: string,
    readonly extensions?: Record<string, unknown>,
  ) {}
}

/** Returns a value for the leaf (or undefined for the default), or a GraphQLFailure. */
export type Responder = (steps: Step[], leafType: string, session: string) => unknown;

export function loadSchema(file: string): GraphQLSchema {
  return buildSchema(readFileSync(file, 'utf8'));
}

/** The selection chain of a SDK query: the SDK always selects one field per level. */
export function chain(schema: GraphQLSchema, query: string): { steps: Step[]; leafType: GraphQLOutputType | undefined; listAt: number } {
  const doc = parse(query);
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  const steps: Step[] = [];
  let listAt = -1;
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return { steps, leafType: undefined, listAt };
  let parentType: GraphQLNamedType | null | undefined = schema.getQueryType();
  let leafType: GraphQLOutputType | undefined;
  let set: SelectionSetNode | undefined = op.selectionSet;
  while (set) {
    let sel = set.selections[0];
    if (sel?.kind === Kind.INLINE_FRAGMENT) {
      parentType = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parentType;
      sel = sel.selectionSet.selections[0];
    }
    if (!sel || sel.kind !== Kind.FIELD) break;
    const f: FieldNode = sel;
    const args = Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
    const parentName = parentType && 'name' in parentType ? parentType.name : '?';
    steps.push({ field: f.name.value, args, parent: parentName });
    const def: GraphQLField<unknown, unknown> | undefined = parentType && (isObjectType(parentType) || isInterfaceType(parentType)) ? parentType.getFields()[f.name.value] : undefined;
    leafType = def?.type;
    if (listAt < 0 && def && isListType(isNonNullType(def.type) ? def.type.ofType : def.type) && f.selectionSet) listAt = steps.length - 1;
    parentType = def ? getNamedType(def.type) : undefined;
    set = f.selectionSet;
  }
  return { steps, leafType, listAt };
}

let counter = 0;
function defaultLeaf(type: GraphQLOutputType | undefined, steps: Step[]): unknown {
  if (!type) return null;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) return [];
  const named = getNamedType(inner);
  const last = steps.at(-1);
  if (isEnumType(named)) return named.getValues()[0]?.value ?? null;
  if (isScalarType(named)) {
    switch (named.name) {
      case 'Int':
        return 0;
      case 'Float':
        return 0;
      case 'Boolean':
        return true;
      case 'Void':
        return null;
      case 'String':
        return last?.field === 'version' ? 'v0.21.8' : '';
      default:
        // IDs and the typed ID scalars: an opaque, unique token naming the parent type.
        return `${last?.parent ?? 'x'}.${last?.field ?? 'id'}#${++counter}`;
    }
  }
  return null;
}

/** The nested response object `{a: {b: {c: leaf}}}` for a chain. */
function nest(steps: Step[], leaf: unknown): unknown {
  let v = leaf;
  for (let i = steps.length - 1; i >= 0; i--) v = { [steps[i]!.field]: v };
  return v;
}

export class RecordingServer {
  readonly recorded: Recorded[] = [];
  readonly token = randomBytes(12).toString('hex');
  /** Extra tokens, one per concurrent client process, by token -> session name. */
  private sessions = new Map<string, string>();
  private server?: Server;
  port = 0;
  private responders: Responder[] = [];
  /** Logical chain (without the trailing `id`/`sync`) that produced each ID handed out. */
  private origins = new Map<string, Step[]>();

  constructor(readonly schema: GraphQLSchema) {}

  /** Add a responder; the most recently added one that returns a value wins. */
  respond(r: Responder): this {
    this.responders.unshift(r);
    return this;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      const token = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8').replace(/:$/, '');
      const session = token === this.token ? '' : this.sessions.get(token);
      if (session === undefined) {
        res.writeHead(401).end('bad token');
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        let answer: unknown;
        try {
          const { query } = JSON.parse(body) as { query: string };
          answer = this.answer(query, session);
        } catch (e) {
          answer = { errors: [{ message: `recording server: ${(e as Error).message}` }] };
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    // The SDK keeps connections alive across long pauses (a module's TypeScript scan takes seconds):
    // Node's 5 s keep-alive default would close a socket under a request ("socket hang up").
    this.server.keepAliveTimeout = 10 * 60_000;
    this.server.headersTimeout = 10 * 60_000 + 1000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Env for the SDK: it connects to DAGGER_SESSION_PORT with DAGGER_SESSION_TOKEN. */
  env(): Record<string, string> {
    return { DAGGER_SESSION_PORT: String(this.port), DAGGER_SESSION_TOKEN: this.token };
  }

  /** Env for a separate client process whose queries are tagged with `name` (same IDs and origins). */
  session(name: string): Record<string, string> {
    const token = randomBytes(12).toString('hex');
    this.sessions.set(token, name);
    return { DAGGER_SESSION_PORT: String(this.port), DAGGER_SESSION_TOKEN: token };
  }

  private answer(query: string, session = ''): unknown {
    const errors = validate(this.schema, parse(query)).map((e) => e.message);
    const { steps, leafType, listAt } = chain(this.schema, query);
    const logical = this.expand(steps);
    this.recorded.push({ query, session, steps, logical, errors });
    const leafName = leafType ? getNamedType(leafType).name : '?';
    let leaf: unknown;
    for (const r of this.responders) {
      leaf = r(logical, leafName, session);
      if (leaf !== undefined) break;
    }
    if (leaf instanceof GraphQLFailure) {
      return { data: null, errors: [{ message: leaf.message, path: steps.map((s) => s.field), ...(leaf.extensions ? { extensions: leaf.extensions } : {}) }] };
    }
    if (listAt >= 0) {
      // A list of objects (`inputArgs { id }`): the responder gives one leaf per element.
      const items = Array.isArray(leaf) ? leaf : [];
      return { data: nest(steps.slice(0, listAt + 1), items.map((v) => nest(steps.slice(listAt + 1), v))) };
    }
    if (leaf === undefined) leaf = defaultLeaf(leafType, steps);
    if (typeof leaf === 'string' && /ID$/.test(leafName)) {
      const last = logical.at(-1)?.field;
      this.origins.set(leaf, last === 'id' || last === 'sync' ? logical.slice(0, -1) : logical);
    }
    return { data: nest(steps, leaf) };
  }

  private expand(steps: Step[]): Step[] {
    const first = steps[0];
    if (first?.field !== 'node' || typeof first.args.id !== 'string') return steps;
    const origin = this.origins.get(first.args.id);
    return origin ? [...origin, ...steps.slice(1)] : steps;
  }

  /** The logical chain that produced an ID argument (e.g. the Service bound by withServiceBinding). */
  origin(id: unknown): Step[] {
    return typeof id === 'string' ? (this.origins.get(id) ?? []) : [];
  }

  /** Every recorded step, across all queries, named `field` (optionally on `parent`). */
  calls(field: string, parent?: string): Step[] {
    return this.recorded.flatMap((r) => r.steps).filter((s) => s.field === field && (!parent || s.parent === parent));
  }

  /** Recorded queries whose logical chain ends in `field`. */
  ending(field: string): Recorded[] {
    return this.recorded.filter((r) => r.logical.at(-1)?.field === field);
  }

  invalid(): Recorded[] {
    return this.recorded.filter((r) => r.errors.length > 0);
  }

  reset(): void {
    this.recorded.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
