import { readFileSync } from "node:fs";

import { dag, File } from "@dagger.io/dagger";

/**
 * The Python and shell scripts the module runs, in its containers or on the user's machine, are
 * files of their own beside this one, which linters and tests read as they are. They are read here
 * relative to this file: from the checkout when a client imports the module, and under `dagger call`
 * from the copy of the module's source that the TypeScript runtime runs (it imports the .ts files and
 * carries the rest along). Each goes to Dagger as text: an exec's `-c` argument or a file's contents.
 */
const HERE = new URL(".", import.meta.url);

const texts = new Map<string, string>();

/** The text of the script `name` of this folder, read once. */
export function script(name: string): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(name, HERE), "utf8");
    texts.set(name, text);
  }
  return text;
}

/** A script's settings: a `# >>> settings` comment, stand-ins, and a `# <<< settings` line. */
const SETTINGS = /^(# >>> settings\b.*\n(?:#.*\n)*)[\s\S]*?(^# <<< settings$)/gm;

/**
 * The script `name` with the module's own values as its settings (`settings`, a line each, in place
 * of the file's stand-ins): a script that leaves the module (an exported file, an image's entrypoint)
 * carries them and needs nothing else, and the values stay defined once, in the TypeScript that uses
 * them too.
 */
export function withSettings(name: string, settings: string[]): string {
  const text = script(name);
  const blocks = text.match(SETTINGS)?.length ?? 0;
  if (blocks !== 1) throw new Error(`${name} has ${blocks} settings blocks (# >>> settings … # <<< settings), not one`);
  return text.replace(SETTINGS, (_, open: string, close: string) => `${open}${settings.map((line) => `${line}\n`).join("")}${close}`);
}

/** A text as a file of its own, named `name`, executable: a script to export and run as it is. */
export function executableFile(name: string, text: string): File {
  return dag.directory().withNewFile(name, text, { permissions: 0o755 }).file(name);
}

/** A command as words for `sh -c` (single-quoted). */
export function shellWords(words: string[]): string {
  return words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
}
