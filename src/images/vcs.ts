import { dag, Directory, ReturnType } from "@dagger.io/dagger";

import { owner, Settings, SOURCE_EXCLUDES, UsageError, VCS_DATA } from "../config.js";
import { script } from "../scripts/index.js";
import { uvCache } from "./base.js";
import { toolchain } from "./dev.js";
import { normalizedName, Project } from "./project.js";

/**
 * Where a `.git` file (`gitdir: PATH`, as `git submodule` leaves one in a submodule) of the project
 * in `dir` points, relative to the source's top; undefined when it points outside the source.
 */
export function gitdirOf(dir: string, dotGitFile: string): string | undefined {
  const target = dotGitFile.match(/^gitdir:\s*(.+?)\s*$/m)?.[1];
  if (!target || target.startsWith("/")) return undefined;
  const parts: string[] = [];
  for (const part of `${dir}/${target}`.split("/")) {
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else if (part !== "." && part !== "") {
      parts.push(part);
    }
  }
  return parts.length > 0 ? parts.join("/") : undefined;
}

/**
 * The source as uploaded minus what never enters an image (`SOURCE_EXCLUDES`): git's data among it.
 * `filter` keys what follows by content, so a change in .git alone (a commit, a tag, the index git
 * rewrites on `git status`) re-keys nothing built from this.
 */
export function withoutVcs(source: Directory): Directory {
  return source.filter({ exclude: SOURCE_EXCLUDES });
}

/** Git's data of the upload alone (the top's .git, submodules' .git files or directories): versions come from it. */
export function vcsData(source: Directory): Directory {
  return source.filter({ include: VCS_DATA });
}

/** What of `vcs` the project in `dir` needs to run git: its `.git`, and where a `.git` file points inside the source. */
async function gitDataOf(vcs: Directory, dir: string): Promise<Directory> {
  if (dir === ".") return vcs; // the app's own .git, with submodules' git dirs and .git files: git sees their state too
  const dotGit = `${dir}/.git`;
  const [asDir, asFile] = await Promise.all([vcs.glob(`${dotGit}/HEAD`), vcs.glob(dotGit)]);
  if (asDir.length > 0) return vcs.filter({ include: [`${dotGit}/**`] });
  if (asFile.length === 0) return dag.directory();
  const gitdir = gitdirOf(dir, await vcs.file(dotGit).contents());
  return vcs.filter({ include: gitdir ? [dotGit, `${gitdir}/**`] : [dotGit] });
}

/** Where the version's container lays out a project's git data and its files. */
const WORK = "/tmp/vcs-version";

/**
 * Runs the project's own build backend (`uv build --sdist`, which installs its build-system
 * requirements as any build does) on its files and its git data, and prints the Version of the
 * sdist's PKG-INFO: what the backend makes of the tags, its own configuration and a dirty tree.
 * When it fails, prints one line on stderr: the backend's own reason, and what to do about the git
 * data the project lacks.
 */
const COMPUTE_VERSION = script("compute-version.sh");

/**
 * Computes the version of each project the build takes from git, as its own backend does, from its
 * files and git data (in a container of their own: nothing of .git reaches the images). The install
 * then reads it from a PKG-INFO file (`withVersions`), so its cache key holds the version string
 * alone. A package the caller leaves out (`--no-install-package`) needs none. Fails with the package,
 * the backend's reason and the fix when there is no version to be had.
 */
export async function vcsVersions(s: Settings, source: Directory, vcs: Directory, project: Project): Promise<Project> {
  const leftOut = new Set(s.noInstallPackage.map(normalizedName));
  const wanted = project.vcsVersioned.filter((p) => !leftOut.has(normalizedName(p.name)));
  if (wanted.length === 0) return project;
  // On the engine's own platform, as the JS bundle: the version is the same for every platform.
  const image = toolchain({ ...s, platform: undefined }, project).withMountedCache(`${s.home}/.cache/uv`, uvCache(), { owner: owner(s) });
  const computed = await Promise.all(
    wanted.map(async (p) => {
      const code = p.dir === "." ? source : source.directory(p.dir);
      const ran = image
        .withDirectory(WORK, await gitDataOf(vcs, p.dir), { owner: owner(s) })
        .withDirectory(`${WORK}/${p.dir}`, code, { owner: owner(s) })
        .withExec(["bash", "-c", COMPUTE_VERSION, "compute-version", WORK, p.dir, p.name, p.plugin], { expect: ReturnType.Any });
      return (await ran.exitCode()) === 0 ? { ...p, version: await ran.stdout() } : { ...p, error: (await ran.stderr()).trim() };
    }),
  );
  // Every project without a version at once: a checkout lacking its tags usually lacks them everywhere.
  const errors = computed.flatMap((p) => ("error" in p ? [p.error] : []));
  if (errors.length > 0) throw new UsageError(errors.join("\n"));
  return { ...project, vcsVersioned: project.vcsVersioned.map((p) => computed.find((v) => v.dir === p.dir) ?? p) };
}
