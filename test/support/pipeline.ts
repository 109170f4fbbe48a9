// Pipelines as the fake engine sees them: a list of GraphQL field selections
// from the root (`container`, `directory`, `host`…) down to the awaited leaf.
// Object IDs minted by the fake engine encode the pipeline that produced them,
// so an ID coming back as an argument can be expanded into that pipeline.

/**
 * One field selection. `args` holds the GraphQL argument values as plain JSON
 * (enum values become their name as a string); an argument that was an object
 * ID is replaced by the `Chain` it stands for (expanded recursively).
 * `args` is `any`-valued on purpose so tests read like `s.args.args.join(" ")`.
 */
export interface Step {
  field: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  args: Record<string, any>;
  /** Position in a list of objects (e.g. one of `envVariables`), if any. */
  index?: number;
}
export type Chain = Step[];

const ID_PREFIX = "fake:";

/** Mint the ID of the object reached by `chain` (which must already be expanded). */
export function encodeId(chain: Chain): string {
  return ID_PREFIX + Buffer.from(JSON.stringify(chain)).toString("base64url");
}

/** The chain a fake ID stands for, or undefined if `value` is no fake ID. */
export function decodeId(value: string): Chain | undefined {
  if (!value.startsWith(ID_PREFIX)) return undefined;
  try {
    const chain: unknown = JSON.parse(Buffer.from(value.slice(ID_PREFIX.length), "base64url").toString());
    return isChain(chain) ? chain : undefined;
  } catch {
    return undefined;
  }
}

export function isChain(value: unknown): value is Chain {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((s) => typeof s === "object" && s !== null && typeof s.field === "string" && typeof s.args === "object")
  );
}

// Root fields that mean "continue from this existing object" rather than
// "take this object as an input": the SDK uses `node(id:)` after `sync()` and
// for items of object lists; older code paths use `loadXFromID(id:)`.
const CONTINUE_FROM = /^(node|load[A-Za-z]+FromID)$/;

/** Replace every fake ID (also inside lists / input objects) by its expanded chain. */
export function expandChain(chain: Chain): Chain {
  const out: Chain = [];
  chain.forEach((step, i) => {
    const from = i === 0 && CONTINUE_FROM.test(step.field) && typeof step.args.id === "string" ? decodeId(step.args.id) : undefined;
    if (from) out.push(...expandChain(from));
    else out.push({ ...step, args: expandValue(step.args) as Step["args"] });
  });
  return out;
}

function expandValue(value: unknown): unknown {
  if (typeof value === "string") {
    const chain = decodeId(value);
    return chain ? expandChain(chain) : value;
  }
  if (Array.isArray(value)) return value.map(expandValue);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandValue(v)]));
  }
  return value;
}

// ---- Small utilities for assertions -------------------------------------

/** All steps selecting `field`, in pipeline order (top level only). */
export function steps(chain: Chain, field: string): Step[] {
  return chain.filter((s) => s.field === field);
}

/**
 * The single step selecting `field` whose scalar args equal `where`
 * (e.g. `step(chain, "withDirectory", { path: "/app" })`). Throws with the
 * readable pipeline if there is not exactly one, so failures are self-explaining.
 */
export function step(chain: Chain, field: string, where: Record<string, unknown> = {}): Step {
  const found = steps(chain, field).filter((s) =>
    Object.entries(where).every(([k, v]) => JSON.stringify(s.args[k]) === JSON.stringify(v)),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one ${field}(${JSON.stringify(where)}), found ${found.length} in:\n${formatChain(chain)}`,
    );
  }
  return found[0]!;
}

/** The command lines of all `withExec` steps, each joined with spaces. */
export function execs(chain: Chain): string[] {
  return steps(chain, "withExec").map((s) => (s.args.args as string[]).join(" "));
}

/** The fields of the chain, e.g. ["container", "from", "withExec"]. */
export function fields(chain: Chain): string[] {
  return chain.map((s) => s.field);
}

/**
 * Readable one-step-per-line rendering; nested chains are indented. Meant for
 * failure messages and snapshots, e.g.
 *   container
 *   from(address: "alpine")
 *   withDirectory(path: "/app", source:
 *     directory
 *     withNewFile(path: "a", contents: "x"))
 */
export function formatChain(chain: Chain, indent = ""): string {
  return chain
    .map((s) => {
      const args = Object.entries(s.args).map(([k, v]) => `${k}: ${formatValue(v, indent + "  ")}`);
      const index = s.index === undefined ? "" : `[${s.index}]`;
      return `${indent}${s.field}${args.length ? `(${args.join(", ")})` : ""}${index}`;
    })
    .join("\n");
}

function formatValue(value: unknown, indent: string): string {
  if (isChain(value)) return "\n" + formatChain(value, indent);
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, indent)).join(", ")}]`;
  return JSON.stringify(value);
}

/** A service as recorded: its container pipeline (everything before `asService`) and its command. */
export function serviceOf(chain: Chain): { container: Chain; args: string[] } {
  const i = chain.findIndex((s) => s.field === "asService");
  if (i < 0) throw new Error(`no asService in:\n${formatChain(chain)}`);
  return { container: chain.slice(0, i), args: chain[i]!.args.args };
}

/** The services bound into a container, by the hostname they are bound under. */
export function bound(chain: Chain): Record<string, { container: Chain; args: string[] }> {
  return Object.fromEntries(steps(chain, "withServiceBinding").map((s) => [s.args.alias, serviceOf(s.args.service)]));
}
