// What `dagger call` loads differs from the npm package the tests import: the TypeScript runtime
// bundles the SDK into the module as sdk/index.ts, which exports the module API and the generated
// client only. A value imported from "@dagger.io/dagger" that this bundle lacks is a SyntaxError
// when the runtime imports src/, and every function of the module fails before it starts.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

import ts from "typescript";
import { describe, expect, it, vi } from "vitest";

/** The names the runtime's sdk/index.ts (SDK 0.21.8) exports besides the generated client. */
const BUNDLE_EXPORTS = [
  "connection", "connect", "Context", "func", "check", "generate", "argument", "object", "field", "enumType", "entrypoint",
];

/** The generated client's exports (`dag`, Container, Directory, …), as the npm package declares them. */
function clientExports(): Set<string> {
  const sdk = dirname(createRequire(import.meta.url).resolve("@dagger.io/dagger"));
  const text = readFileSync(join(sdk, "api", "client.gen.d.ts"), "utf8");
  return new Set([...text.matchAll(/^export (?:declare )?(?:abstract )?(?:class|type|enum|const|function|interface) (\w+)/gm)].map((m) => m[1]));
}

/** Every name a file imports as a value from "@dagger.io/dagger" (type-only imports are erased). */
export function valueImports(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022);
  return file.statements.flatMap((st) => {
    if (!ts.isImportDeclaration(st) || (st.moduleSpecifier as ts.StringLiteral).text !== "@dagger.io/dagger") return [];
    const clause = st.importClause;
    if (!clause || clause.isTypeOnly || !clause.namedBindings || !ts.isNamedImports(clause.namedBindings)) return [];
    return clause.namedBindings.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text);
  });
}

function missing(dir: string): string[] {
  const allowed = new Set([...BUNDLE_EXPORTS, ...clientExports()]);
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => valueImports(f, readFileSync(join(dir, f), "utf8")).filter((n) => !allowed.has(n)).map((n) => `${f}: ${n}`));
}

describe("src/ in module mode (dagger call)", () => {
  it("knows the generated client's exports", () => {
    for (const name of ["dag", "Container", "Directory", "Secret", "Service", "Platform", "ReturnType"]) {
      expect(clientExports().has(name), name).toBe(true);
    }
    for (const name of ["ExecError", "up", "GraphQLRequestError"]) expect(clientExports().has(name), name).toBe(false);
  });

  it("reads value imports, not type-only ones", () => {
    const text = [
      'import { dag, ExecError, type Platform } from "@dagger.io/dagger";',
      'import type { Secret } from "@dagger.io/dagger";',
      'import { up as upper } from "@dagger.io/dagger";',
      'import { x } from "./other.js";',
    ].join("\n");
    expect(valueImports("a.ts", text)).toEqual(["dag", "ExecError", "up"]);
  });

  it("imports from the SDK only what the bundled SDK exports", () => {
    expect(missing("src")).toEqual([]);
  });

  it("has an @up() that leaves the method as it is where the bundled SDK has none", async () => {
    vi.resetModules();
    // An ES module namespace reads a name it lacks as undefined (vitest's mock must list it to allow that).
    vi.doMock("@dagger.io/dagger", () => ({ func: () => undefined, up: undefined }));
    const { up } = await import("../../src/decorators.js");
    const descriptor = { value: () => "stack" };
    expect(up()({}, "devStack", descriptor)).toBe(descriptor);
    vi.doUnmock("@dagger.io/dagger");
    vi.resetModules();
    const sdk = await import("@dagger.io/dagger");
    expect((await import("../../src/decorators.js")).up).toBe(sdk.up);
  });
});
