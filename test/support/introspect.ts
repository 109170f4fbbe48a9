// Runs the Dagger TypeScript runtime's own introspector over src/, the way `dagger call` loads the
// module, so the CLI binding (decorators, types, defaults, descriptions) is checked without an engine.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The introspected module: `{ name, description, objects: { Pycroft: { _constructor, methods, … } } }`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Introspected = any;

export async function introspect(srcDir: string, moduleName: string): Promise<Introspected> {
  const sdk = dirname(createRequire(import.meta.url).resolve("@dagger.io/dagger")); // …/dist/src
  // The runtime compiles the module against a generated sdk/ whose core types live in `client.gen.ts`;
  // the npm package ships the same declarations as client.gen.d.ts, so lay them out the same way.
  const root = mkdtempSync(join(tmpdir(), "introspect-"));
  const shim = join(root, "node_modules", "@dagger.io", "dagger");
  mkdirSync(join(shim, "api"), { recursive: true });
  cpSync(join(sdk, "api", "client.gen.d.ts"), join(shim, "api", "client.gen.ts"));
  writeFileSync(join(shim, "package.json"), JSON.stringify({ name: "@dagger.io/dagger", types: "index.ts" }));
  writeFileSync(
    join(shim, "index.ts"),
    [
      `export * from "./api/client.gen.js"`,
      `export * from "${sdk}/module/decorators.js"`,
      `export * from "${sdk}/common/errors/index.js"`,
    ].join("\n"),
  );
  cpSync(srcDir, join(root, "src"), { recursive: true });
  const files = (readdirSync(join(root, "src"), { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(root, "src", f));
  const { scan } = await import(join(sdk, "module", "introspector", "index.js"));
  return scan(files, moduleName, false);
}
