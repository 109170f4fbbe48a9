// Versions a build takes from git: which projects have one, where a submodule's git data is, what
// goes up with --source, and where the computed version enters the pipelines (as a PKG-INFO file).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { SOURCE_EXCLUDES, UPLOAD_EXCLUDES, VCS_DATA } from "../../src/config.js";
import { normalizedName, pkgInfo, projectName, rawProjectName, vcsPlugin } from "../../src/images/project.js";
import { gitdirOf } from "../../src/images/vcs.js";
import { Chain, execs, steps, withFakeEngine } from "../support/fake-engine.js";
import { module, sourceOf } from "../support/example.js";
import { runScript, tempDir } from "../support/run-script.js";

const HATCH_VERSIONINGIT = `[build-system]
requires = [
    "hatchling",
    "versioningit",
]
build-backend = "hatchling.build"

[project]
name = "Widgets_Lib"
description = "x"
dynamic = ["version"]

[tool.hatch.version]
source = "versioningit"
`;

describe("vcsPlugin", () => {
  it("names the plugin of a dynamic version: versioningit under hatchling, as Pycroft's deps/wtforms-widgets", () => {
    expect(vcsPlugin(HATCH_VERSIONINGIT)).toBe("versioningit");
  });

  it("knows setuptools-scm however it is spelled (extras, underscores, pins) and hatch-vcs", () => {
    const scm = '[build-system]\nrequires = ["setuptools>=64", "setuptools_scm[toml]>=6.2"]\n\n[project]\nname = "a"\ndynamic = ["readme", "version"]\n';
    expect(vcsPlugin(scm)).toBe("setuptools-scm");
    const vcs = "[build-system]\nrequires = ['hatchling', 'Hatch-VCS ~= 0.4']\n[project]\nname = 'a'\ndynamic = [\n  'version',\n]\n";
    expect(vcsPlugin(vcs)).toBe("hatch-vcs");
  });

  it("is undefined for a static version, a dynamic one from elsewhere, or a plugin outside build-system", () => {
    expect(vcsPlugin(HATCH_VERSIONINGIT.replace('dynamic = ["version"]', 'version = "1.0"'))).toBeUndefined();
    expect(vcsPlugin(HATCH_VERSIONINGIT.replace('dynamic = ["version"]', 'version = "1.0"\ndynamic = ["readme"]'))).toBeUndefined();
    expect(vcsPlugin('[build-system]\nrequires = ["hatchling"]\n[project]\nname = "a"\ndynamic = ["version"]\n[tool.hatch.version]\npath = "a/__init__.py"\n')).toBeUndefined();
    expect(vcsPlugin('[build-system]\nrequires = ["hatchling"]\n[project]\nname = "a"\ndynamic = ["version"]\ndependencies = ["versioningit"]\n')).toBeUndefined();
    expect(vcsPlugin("")).toBeUndefined();
  });
});

describe("project names", () => {
  it("keeps the name as written for PKG-INFO, and compares it normalized", () => {
    expect(rawProjectName(HATCH_VERSIONINGIT)).toBe("Widgets_Lib");
    expect(projectName(HATCH_VERSIONINGIT)).toBe("widgets-lib");
    expect(normalizedName("Widgets__Lib.x")).toBe("widgets-lib-x");
    expect(rawProjectName("[tool.x]\nname = 'b'\n")).toBeUndefined();
  });

  it("writes the PKG-INFO the backends read a version from without git", () => {
    expect(pkgInfo("wtforms-widgets", "1.0.9")).toBe("Metadata-Version: 2.1\nName: wtforms-widgets\nVersion: 1.0.9\n");
  });
});

describe("gitdirOf", () => {
  it("resolves a submodule's .git file against its directory, as git does", () => {
    expect(gitdirOf("deps/wtforms-widgets", "gitdir: ../../.git/modules/deps/wtforms-widgets\n")).toBe(".git/modules/deps/wtforms-widgets");
    expect(gitdirOf("deps/w", "gitdir: ../../.git/modules/w\r\n")).toBe(".git/modules/w");
    expect(gitdirOf("deps/w", "gitdir: ./.git-data")).toBe("deps/w/.git-data");
  });

  it("is undefined when it points outside the source: absolute, above the top, or no gitdir line", () => {
    expect(gitdirOf("deps/w", "gitdir: /home/me/pycroft/.git/worktrees/w")).toBeUndefined();
    expect(gitdirOf("deps/w", "gitdir: ../../../elsewhere/.git")).toBeUndefined();
    expect(gitdirOf(".", "gitdir: ../main/.git/worktrees/x")).toBeUndefined();
    expect(gitdirOf("deps/w", "ref: refs/heads/main")).toBeUndefined();
  });
});

describe("what goes up with --source", () => {
  it("is what the images may hold plus git's data, without LFS's objects: nothing else changes", () => {
    expect(UPLOAD_EXCLUDES).not.toContain("**/.git");
    expect([...UPLOAD_EXCLUDES].sort()).toEqual([...SOURCE_EXCLUDES.filter((p) => p !== "**/.git"), "**/.git/lfs"].sort());
  });

  it("is split at once: the module's source without what never enters an image, its git data on its own", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, { "pyproject.toml": "", "uv.lock": "" });
      await (await module().dev()).sync();
      const source = steps(engine.lastChain(), "withDirectory").filter((s) => s.args.path === ".").at(-1)!.args.source as Chain;
      expect(source.at(-1)).toEqual({ field: "filter", args: { exclude: SOURCE_EXCLUDES } });
      // No project takes its version from git: the git data is never read.
      expect(engine.queries.some((q) => q.chain.some((s) => s.field === "filter" && s.args.include === VCS_DATA))).toBe(false);
    });
  });
});

/** A uv project whose path dependency deps/w takes its version from git, a submodule of it. */
const SUBMODULE = {
  "pyproject.toml": '[project]\nname = "app"\nversion = "0.1.0"\n',
  "uv.lock": "",
  "deps/w/pyproject.toml": HATCH_VERSIONINGIT,
  "deps/w/.git": "gitdir: ../../.git/modules/deps/w\n",
};
const isCompute = (s: Chain[number]) => s.field === "withExec" && (s.args.args as string[]).includes("compute-version");
const COMPUTE = (c: Chain) => c.some(isCompute);
/** The pipeline up to the version's command, as the version was read from it. */
const computeChain = (queries: { chain: Chain }[]) => {
  const chain = queries.map((q) => q.chain).find(COMPUTE);
  return chain?.slice(0, chain.findIndex(isCompute) + 1);
};
const PKG_INFO = "Metadata-Version: 2.1\nName: Widgets_Lib\nVersion: 1.2.3.post4+gabcdef0\n";

describe("a path dependency's version from git", () => {
  it("is computed from its files and the git data its .git file points to, in a container of its own", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, SUBMODULE);
      engine.respond("stdout", ({ parent }) => (COMPUTE(parent) ? "1.2.3.post4+gabcdef0" : ""));
      await (await module().dev()).sync();
      const compute = computeChain(engine.queries)!;
      expect(compute, "no version computed").toBeDefined();
      expect((compute.at(-1)!.args.args as string[]).slice(-5)).toEqual(["compute-version", "/tmp/vcs-version", "deps/w", "Widgets_Lib", "versioningit"]);
      const [git, files] = steps(compute, "withDirectory").slice(-2);
      expect(git!.args.path).toBe("/tmp/vcs-version");
      expect((git!.args.source as Chain).at(-1)).toEqual({ field: "filter", args: { include: ["deps/w/.git", ".git/modules/deps/w/**"] } });
      expect(files!.args.path).toBe("/tmp/vcs-version/deps/w");
      expect((files!.args.source as Chain).at(-1)).toEqual({ field: "directory", args: { path: "deps/w" } });
    });
  });

  it("enters the deps' layer, the editable install and the app dir as its PKG-INFO: never git's data", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, SUBMODULE);
      engine.respond("stdout", ({ parent }) => (COMPUTE(parent) ? "1.2.3.post4+gabcdef0" : ""));
      await (await module().dev()).sync();
      const chain = engine.lastChain();
      const at = (predicate: (s: Chain[number]) => boolean) => chain.findIndex(predicate);
      const deps = at((s) => s.field === "withDirectory" && s.args.path === "deps");
      const depsInstall = at((s) => s.field === "withExec" && (s.args.args as string[]).includes("--no-install-project"));
      const writes = chain.flatMap((s, i) => (s.field === "withNewFile" && s.args.path === "deps/w/PKG-INFO" ? [i] : []));
      expect(writes.map((i) => chain[i]!.args.contents)).toEqual([PKG_INFO, PKG_INFO, PKG_INFO]);
      // After the deps are copied and before they are installed; again after each copy of the source.
      expect(writes[0]).toBeGreaterThan(deps);
      expect(writes[0]).toBeLessThan(depsInstall);
      const copies = chain.flatMap((s, i) => (s.field === "withDirectory" && s.args.path === "." ? [i] : []));
      expect(copies).toHaveLength(2);
      expect(writes[1]).toBeGreaterThan(copies[0]!);
      expect(writes[1]).toBeLessThan(at((s) => s.field === "withExec" && (s.args.args as string[]).join(" ") === "uv sync --locked"));
      expect(writes[2]).toBeGreaterThan(copies[1]!);
      expect(steps(chain, "withNewFile").map((s) => s.args.path)).not.toContain("PKG-INFO");
      // Nothing of the image comes from the git data.
      expect(JSON.stringify(chain)).not.toContain('"include":["**/.git"');
    });
  });

  it("of the app itself goes into the editable install and the app dir, never into the deps' layer", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, { "pyproject.toml": HATCH_VERSIONINGIT.replace("Widgets_Lib", "app"), "uv.lock": "", ".git": "" });
      engine.respond("stdout", ({ parent }) => (COMPUTE(parent) ? "2.0.0" : ""));
      await (await module().dev()).sync();
      const chain = engine.lastChain();
      const writes = chain.flatMap((s, i) => (s.field === "withNewFile" && s.args.path === "PKG-INFO" ? [i] : []));
      expect(writes).toHaveLength(2);
      const depsInstall = chain.findIndex((s) => s.field === "withExec" && (s.args.args as string[]).includes("--no-install-project"));
      expect(writes[0]).toBeGreaterThan(depsInstall);
      expect(chain[writes[0]!]!.args.contents).toBe("Metadata-Version: 2.1\nName: app\nVersion: 2.0.0\n");
      // The app's version is computed with all of the git data: submodules' state is the app's too.
      const compute = computeChain(engine.queries)!;
      expect((steps(compute, "withDirectory").at(-2)!.args.source as Chain).at(-1)).toEqual({ field: "filter", args: { include: VCS_DATA } });
    });
  });

  it("fails with the message of each project that has none: no stack trace, no build", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, SUBMODULE);
      engine.respond("exitCode", ({ parent }) => (COMPUTE(parent) ? 1 : 0));
      engine.respond("stderr", ({ parent }) => (COMPUTE(parent) ? "Widgets_Lib (deps/w) takes its version from git through versioningit, and …\n" : ""));
      await expect(module().dev()).rejects.toThrow(/^Widgets_Lib \(deps\/w\) takes its version from git through versioningit, and …$/);
      expect(engine.chains("sync")).toHaveLength(0);
    });
  });

  it("is not needed for a package left out with --no-install-package", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, SUBMODULE);
      await (await module({ noInstallPackage: ["widgets-lib"] }).dev()).sync();
      expect(engine.queries.some((q) => COMPUTE(q.chain))).toBe(false);
      expect(execs(engine.lastChain()).join("\n")).toContain("--no-install-package widgets-lib");
      expect(steps(engine.lastChain(), "withNewFile").map((s) => s.args.path)).not.toContain("deps/w/PKG-INFO");
    });
  });
});

describe("the version's script", () => {
  /** The module's command computing deps/w's version, with its git data and files under `work`. */
  async function computeCommand(work: string): Promise<string[]> {
    const args = await withFakeEngine(async (engine) => {
      sourceOf(engine, SUBMODULE);
      engine.respond("stdout", ({ parent }) => (COMPUTE(parent) ? "1.2.3" : ""));
      await (await module().dev()).sync();
      return computeChain(engine.queries)!.at(-1)!.args.args as string[];
    });
    expect(args[4]).toBe("/tmp/vcs-version");
    return args.map((arg, i) => (i === 4 ? work : arg));
  }
  /** A temp dir laid out as the container's: deps/w's pyproject.toml, and `dotGit` as its .git (a file's text, or a repository). */
  function workDir(dotGit?: string | "repository", tag?: string): string {
    const work = tempDir("vcs-version");
    const project = join(work, "deps/w");
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, "pyproject.toml"), HATCH_VERSIONINGIT);
    if (dotGit === "repository") {
      const git = (...args: string[]) => expect(spawnSync("git", ["-C", project, "-c", "user.name=t", "-c", "user.email=t@example.org", ...args]).status).toBe(0);
      git("init", "-q");
      git("add", ".");
      git("commit", "-qm", "w");
      if (tag) git("tag", tag);
    } else if (dotGit !== undefined) {
      writeFileSync(join(project, ".git"), dotGit);
    }
    return work;
  }
  /** A uv whose sdist says Version: 1.2.3.post4+gabcdef0. */
  const builds = {
    does: 'd=$(mktemp -d); mkdir "$d/w-1"; printf "Metadata-Version: 2.1\\nName: w\\nVersion: 1.2.3.post4+gabcdef0\\n" > "$d/w-1/PKG-INFO"; tar -czf "$4/w-1.tar.gz" -C "$d" w-1',
  };
  /** A uv whose build backend raises, naming the project's path in the container. */
  const fails = (work: string) => ({
    does: `echo "  × Failed to build \\\`${work}/deps/w\\\`"; echo "      LookupError: versioningit could not find a version for ${work}/deps/w." >&2; exit 1`,
  });

  it("prints the version of the sdist the project's backend builds, from the project's own dir", async () => {
    const work = workDir("repository", "v1.2.3");
    const ran = runScript(await computeCommand(work), { standIns: { uv: builds } });
    expect([ran.status, ran.stdout, ran.stderr]).toEqual([0, "1.2.3.post4+gabcdef0", ""]);
    expect(ran.calls).toEqual([expect.stringMatching(/^uv build --sdist --out-dir \S+ \.$/)]);
  });

  it("fails with the backend's reason, paths as in the source, and the fix for the git data the project lacks", async () => {
    const message = async (work: string) => {
      const ran = runScript(await computeCommand(work), { standIns: { uv: fails(work) } });
      expect([ran.status, ran.stdout]).toEqual([1, ""]);
      return ran.stderr;
    };
    const start = "Widgets_Lib (deps/w) takes its version from git through versioningit, and its build could not compute one: "
      + "LookupError: versioningit could not find a version for deps/w. Fix: ";
    expect(await message(workDir())).toBe(
      `${start}deps/w has no .git: pass a git checkout as --source (submodules checked out with 'git submodule update --init'), or put a PKG-INFO file with its version there\n`,
    );
    expect(await message(workDir("gitdir: ../../.git/modules/deps/w\n"))).toBe(
      `${start}deps/w/.git leads to no git data within the directory passed as --source (gitdir: ../../.git/modules/deps/w): pass the whole checkout that holds it (a submodule's is in its superproject's .git/modules)\n`,
    );
    expect(await message(workDir("repository"))).toMatch(
      new RegExp(`^${start.replace(/[.()]/g, "\\$&")}no tag is reachable from its commit [0-9a-f]{7,} \\(a shallow clone, or tags not fetched\\): fetch them with 'git fetch --tags' in deps/w\\n$`),
    );
    expect(await message(workDir("repository", "v1.2.3"))).toBe(`${start}see the backend's configuration in deps/w/pyproject.toml\n`);
  });
});
