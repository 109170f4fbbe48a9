// Bundles web/resources/js into web/static/dist/ and writes web/static/manifest.json
// ({"main.js": "dist/main-HASH.js"}), which the Flask app reads to link the hashed
// files. Usage: `npm run bundle` (with source maps), `npm run bundle -- --prod` (minified)
// or `npm run bundle -- --watch` (rebuilds on every change, as Pycroft's dev-bundler).
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const root = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.join(root, "web", "static");
const outdir = path.join(staticDir, "dist");
const { values: args } = parseArgs({
  options: { prod: { type: "boolean", default: false }, watch: { type: "boolean", default: false } },
});

/** After each build (every rebuild in watch mode): the manifest, and no file of an earlier build. */
const manifest = {
  name: "manifest",
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      const outputs = Object.entries(result.metafile.outputs);
      const current = new Set(outputs.map(([out]) => path.basename(out)));
      // Hashed names change with the content: drop the last build's files.
      for (const name of readdirSync(outdir)) {
        if (!current.has(name)) rmSync(path.join(outdir, name), { force: true });
      }
      const entries = {};
      for (const [out, { entryPoint }] of outputs) {
        if (entryPoint) entries[path.basename(entryPoint)] = path.relative(staticDir, path.join(root, out));
      }
      writeFileSync(path.join(staticDir, "manifest.json"), JSON.stringify(entries, null, 2) + "\n");
    });
  },
};

const options = {
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
  plugins: [manifest],
};

if (args.watch) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options);
}
