// Bundles web/resources/js into web/static/dist/ and writes web/static/manifest.json
// ({"main.js": "dist/main-HASH.js"}), which the Flask app reads to link the hashed
// files. Usage: `npm run bundle` (with source maps) or `npm run bundle -- --prod` (minified).
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const root = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.join(root, "web", "static");
const outdir = path.join(staticDir, "dist");
const { values: args } = parseArgs({ options: { prod: { type: "boolean", default: false } } });

// Hashed names change with the content: drop the last build's files.
rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["web/resources/js/main.js"],
  outdir,
  entryNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: args.prod,
  sourcemap: !args.prod,
  metafile: true,
  logLevel: "info",
});

const manifest = {};
for (const [out, { entryPoint }] of Object.entries(result.metafile.outputs)) {
  if (entryPoint) {
    manifest[path.basename(entryPoint)] = path.relative(staticDir, path.join(root, out));
  }
}
writeFileSync(path.join(staticDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
