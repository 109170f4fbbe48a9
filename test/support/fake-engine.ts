// A fake Dagger engine: an HTTP server on loopback that speaks the public
// GraphQL protocol the SDK uses in "client mode" (DAGGER_SESSION_PORT/TOKEN),
// records every query and answers generically, so unit tests can assert on the
// pipeline a function builds without a real engine and without touching the
// SDK's private fields. See fake-engine.test.ts for usage.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import { connection } from "@dagger.io/dagger";
// `graphql` is a dependency of @dagger.io/dagger (hoisted), not of this project.
import { Kind, parse, valueFromASTUntyped, type FieldNode, type SelectionNode, type SelectionSetNode } from "graphql";

import { decodeId, encodeId, expandChain, type Chain, type Step } from "./pipeline.js";

export * from "./pipeline.js";

/** A call to a configured field: its arguments and the expanded pipeline of the object it is called on. */
export interface Call {
  args: Step["args"];
  parent: Chain;
}
/**
 * What a field answers: a fixed JSON value, or a function of the call that
 * returns one (undefined = the default answer) or throws (= a GraphQL error).
 * For a list-of-objects field (envVariables…), give an array of plain objects.
 */
export type Responder = string | number | boolean | null | readonly unknown[] | ((call: Call) => unknown);

export interface RecordedQuery {
  /** The GraphQL text exactly as sent by the SDK. */
  text: string;
  /** Name of the awaited leaf field (`sync`, `id`, `stdout`, `publish`…). */
  leaf: string;
  /** Expanded path from the root to the leaf; a trailing `id` is dropped (it only asks for a handle). */
  chain: Chain;
}

/** An error the SDK turns into an `ExecError` (as for a failing `withExec`). */
export function execError(opts: { exitCode?: number; stdout?: string; stderr?: string; cmd?: string[] } = {}): Error {
  const { exitCode = 1, stdout = "", stderr = "", cmd = [] } = opts;
  return Object.assign(new Error(`process "${cmd.join(" ")}" did not complete successfully: exit code: ${exitCode}`), {
    extensions: { _type: "EXEC_ERROR", exitCode, stdout, stderr, cmd },
  });
}

export class FakeEngine {
  readonly token = randomUUID();
  readonly queries: RecordedQuery[] = [];
  private readonly responders = new Map<string, Responder>();
  private readonly server = createServer((req, res) => void this.handle(req, res));

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", resolve);
    });
  }

  async stop(): Promise<void> {
    // node-fetch keeps connections alive; close() alone would wait for them to time out.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Configure what fields named `field` answer, e.g. respond("stdout", "hi"). Chainable.
   * A function is also called for object fields (withExec…), so it can throw to
   * fail any query going through a given step.
   */
  respond(field: string, responder: Responder): this {
    this.responders.set(field, responder);
    return this;
  }

  /** What `field` is configured to answer, e.g. to answer one directory's `entries` and leave the rest to it. */
  responderOf(field: string): Responder | undefined {
    return this.responders.get(field);
  }

  /** The expanded pipeline behind a fake ID, a GraphQL query text, or a recorded query. */
  pipeline(source: string | RecordedQuery): Chain {
    if (typeof source !== "string") return source.chain;
    const chain = decodeId(source);
    return chain ? expandChain(chain) : record(source).chain;
  }

  /** The pipeline of the last query sent (the last awaited leaf). */
  lastChain(): Chain {
    const last = this.queries.at(-1);
    if (!last) throw new Error("the fake engine received no query (nothing was awaited?)");
    return last.chain;
  }

  /** Pipelines of all queries, optionally only those whose leaf is `leaf` (e.g. "publish"). */
  chains(leaf?: string): Chain[] {
    return this.queries.filter((q) => leaf === undefined || q.leaf === leaf).map((q) => q.chain);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "POST" || req.url !== "/query") return reply(404, { errors: [{ message: "not found" }] });
    // The SDK sends the session token as the basic-auth user with an empty password.
    if (req.headers.authorization !== "Basic " + Buffer.from(this.token + ":").toString("base64")) {
      return reply(401, { errors: [{ message: "bad session token" }] });
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    try {
      const { query, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
      // Recorded before answering, so a query made to fail is still visible to the test.
      this.queries.push(record(query, variables));
      const op = operation(query);
      reply(200, { data: this.resolveObject(op.selectionSet, [], variables) });
    } catch (e) {
      const err = e as Error & { extensions?: unknown };
      reply(200, { data: null, errors: [{ message: err.message, extensions: err.extensions }] });
    }
  }

  /** Answer a selection set generically; `chain` is the (raw) path that reached it. */
  private resolveObject(set: SelectionSetNode, chain: Chain, vars?: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const sel of set.selections) {
      // The SDK wraps selections after `node(id:)` in `... on Type { }`: transparent here.
      if (sel.kind === Kind.INLINE_FRAGMENT) Object.assign(out, this.resolveObject(sel.selectionSet, chain, vars));
      else if (sel.kind === Kind.FIELD) out[sel.alias?.value ?? sel.name.value] = this.resolveField(sel, chain, vars);
      else throw new Error("fake engine: named fragments are not supported");
    }
    return out;
  }

  private resolveField(node: FieldNode, chain: Chain, vars?: Record<string, unknown>): unknown {
    const step = toStep(node, vars);
    if (node.selectionSet) {
      const items = this.answer(step, expandChain(chain));
      // A list of objects (envVariables { id }…): one sub-object per configured item.
      if (Array.isArray(items) || leafKind(step.field) === "list") {
        const list = Array.isArray(items) ? items : [];
        return list.map((_, index) => this.resolveObject(node.selectionSet!, [...chain, { ...step, index }], vars));
      }
      return this.resolveObject(node.selectionSet, [...chain, step], vars);
    }
    const parent = expandChain(chain);
    const last = parent.at(-1);
    if (last?.index !== undefined) {
      // A leaf of one list item: take it from the item object the test configured.
      const items = this.answer(last, parent.slice(0, -1));
      const value = Array.isArray(items) ? (items[last.index] as Record<string, unknown>)?.[step.field] : undefined;
      if (value !== undefined) return value;
    }
    const configured = this.answer(step, parent);
    if (configured !== undefined) return configured;
    if (step.field === "id" || step.field === "sync") return encodeId(parent); // sync returns the object's own ID
    // A container's platform, as the engine answers when its image has the one asked for.
    if (step.field === "platform") return parent.find((s) => s.field === "container")?.args.platform ?? "linux/amd64";
    switch (leafKind(step.field)) {
      case "object": return encodeId([...parent, step]); // e.g. Service.start
      case "list": return [];
      case "number": return 0;
      case "boolean": return false;
      case "void": return null;
      default: return "";
    }
  }

  private answer(step: Step, parent: Chain): unknown {
    const r = this.responders.get(step.field);
    return typeof r === "function" ? r({ args: step.args, parent }) : r;
  }
}

let active = false;

/**
 * Start a fake engine, point the SDK at it (DAGGER_SESSION_PORT/TOKEN, restored
 * afterwards) and run `fn` inside `connection()`, so the global `dag` works.
 * Not reentrant: the SDK has a single global connection.
 */
export async function withFakeEngine<T>(fn: (engine: FakeEngine) => Promise<T>): Promise<T> {
  if (active) throw new Error("withFakeEngine cannot be nested or run concurrently (the SDK's `dag` is global)");
  active = true;
  const engine = new FakeEngine();
  const saved = { DAGGER_SESSION_PORT: process.env.DAGGER_SESSION_PORT, DAGGER_SESSION_TOKEN: process.env.DAGGER_SESSION_TOKEN };
  try {
    await engine.start();
    process.env.DAGGER_SESSION_PORT = String(engine.port);
    process.env.DAGGER_SESSION_TOKEN = engine.token;
    let result!: T;
    await connection(async () => {
      result = await fn(engine);
    });
    return result;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await engine.stop();
    active = false;
  }
}

// ---- GraphQL helpers -----------------------------------------------------

function operation(text: string) {
  const op = parse(text).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) throw new Error("fake engine: no operation in query");
  return op;
}

function toStep(node: FieldNode, vars?: Record<string, unknown>): Step {
  const args = Object.fromEntries((node.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, vars)]));
  return { field: node.name.value, args };
}

/** Record a query as the path through its first selection at each level (the SDK sends one path per query). */
function record(text: string, vars?: Record<string, unknown>): RecordedQuery {
  const chain: Chain = [];
  let set: SelectionSetNode | undefined = operation(text).selectionSet;
  while (set) {
    const first: SelectionNode | undefined = set.selections[0];
    if (first?.kind === Kind.INLINE_FRAGMENT) set = first.selectionSet;
    else if (first?.kind === Kind.FIELD) {
      chain.push(toStep(first, vars));
      set = first.selectionSet;
    } else set = undefined;
  }
  const leaf = chain.at(-1)?.field ?? "";
  return { text, leaf, chain: expandChain(leaf === "id" ? chain.slice(0, -1) : chain) };
}

// ---- Leaf types ------------------------------------------------------------
// GraphQL answers must have the right JSON type (`exitCode` must be a number…),
// but the fake has no schema. The SDK's public typings declare each leaf as
// `name: (…) => Promise<T>`, so derive a field-name → kind table from them.

type LeafKind = "string" | "number" | "boolean" | "void" | "list" | "object";
let kinds: Map<string, LeafKind> | undefined;

function leafKind(field: string): LeafKind {
  kinds ??= loadLeafKinds();
  return kinds.get(field) ?? "string";
}

function loadLeafKinds(): Map<string, LeafKind> {
  const sdkEntry = createRequire(import.meta.url).resolve("@dagger.io/dagger");
  const dts = readFileSync(join(dirname(sdkEntry), "api", "client.gen.d.ts"), "utf8");
  const stringLike = new Set(["string", "JSON", ...[...dts.matchAll(/^export (?:declare enum|type) (\w+)/gm)].map((m) => m[1]!)]);
  const kindOf = (t: string): LeafKind =>
    t.endsWith("[]") ? "list"
    : t === "number" || t === "float" ? "number"
    : t === "boolean" || t === "void" ? t
    : stringLike.has(t) || !/^[A-Z]/.test(t) ? "string"
    : "object";
  // Same name with different types on different objects (start: Service | number…): first kind wins.
  const precedence: LeafKind[] = ["object", "string", "list", "number", "boolean", "void"];
  const table = new Map<string, LeafKind>();
  for (const m of dts.matchAll(/^ {4}(\w+)(?::\s*\([^)]*\)\s*=>|\([^)]*\):)\s*Promise<(.+)>;$/gm)) {
    const [name, kind] = [m[1]!, kindOf(m[2]!)];
    const prev = table.get(name);
    if (!prev || precedence.indexOf(kind) < precedence.indexOf(prev)) table.set(name, kind);
  }
  // Fail loudly if the SDK's typings change shape, rather than answering "" everywhere.
  if (table.get("exitCode") !== "number" || table.get("sync") !== "object") {
    throw new Error("fake engine: could not derive leaf types from @dagger.io/dagger typings");
  }
  return table;
}
