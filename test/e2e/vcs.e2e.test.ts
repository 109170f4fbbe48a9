// Versions taken from git tags on a real engine: a checkout made here, the app (setuptools-scm) a git
// repository, its path dependency deps/vcs-widgets (versioningit under hatchling) a submodule.
import { execFileSync } from "node:child_process";
import { cpSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";

import { Container, ExecError } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { hostDir, noEngine, pycroftOn, session, tempDirUntilExit } from "./engine.js";

const FIXTURE = "test/fixtures/vcs-dep";
const WIDGETS = "deps/vcs-widgets";
const SITE = "/opt/pycroft/venv/lib/python3*/site-packages";

/** git, as a user with a name; `file://` submodules allowed (git refuses them by default since 2.38.1). */
function git(dir: string, ...args: string[]): string {
  const config = ["-c", "user.name=Pycroft Test", "-c", "user.email=test@example.org", "-c", "protocol.file.allow=always", "-c", "init.defaultBranch=main"];
  return execFileSync("git", [...config, ...args], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/**
 * A checkout of the fixture: the widgets in a repository of their own, tagged v1.2.3, added to the
 * app's repository (tagged v0.5.0) as a submodule. `git submodule add` leaves a `.git` file pointing
 * into the app's .git/modules, as `git submodule update` does; `dotGit: "dir"` adds a clone that is
 * there already, which keeps its `.git` directory (as submodules made before git 1.7.8 have it).
 */
function checkout(dotGit: "file" | "dir" = "file"): { app: string; widgets: string } {
  const root = tempDirUntilExit("pycroft-vcs-");
  const upstream = join(root, "vcs-widgets");
  cpSync(join(FIXTURE, WIDGETS), upstream, { recursive: true });
  git(upstream, "init", "-q");
  git(upstream, "add", ".");
  git(upstream, "commit", "-qm", "widgets");
  git(upstream, "tag", "v1.2.3");

  const app = join(root, "app");
  cpSync(FIXTURE, app, { recursive: true, filter: (path) => !path.startsWith(join(FIXTURE, "deps")) });
  git(app, "init", "-q");
  if (dotGit === "dir") git(app, "clone", "-q", upstream, WIDGETS);
  git(app, "submodule", "add", "-q", upstream, WIDGETS);
  git(app, "add", ".");
  git(app, "commit", "-qm", "app");
  git(app, "tag", "v0.5.0");
  const widgets = join(app, WIDGETS);
  expect(statSync(join(widgets, ".git")).isFile()).toBe(dotGit === "file");
  return { app, widgets };
}

/** What versioningit's default format makes of `git describe --tags --long`: the tag at it, `.postN+gREV` past it. */
function versioningitVersion(widgets: string): string {
  const [, tag, distance, rev] = git(widgets, "describe", "--tags", "--long").match(/^v?(.+)-(\d+)-(g[0-9a-f]+)$/)!;
  return distance === "0" ? tag! : `${tag}.post${distance}+${rev}`;
}

const sh = (c: Container, script: string) => c.withExec(["sh", "-c", script]).stdout();
const VERSIONS = `python -c 'import importlib.metadata as m; print(m.version("vcs-widgets")); print(m.version("pycroft-fixture-vcs-dep"))'`;

/**
 * The dev image of a checkout: the installed versions, the install times of the deps' layer (six, from
 * the index; the app's layer installs the path dependency again) and of the app's, and any git data.
 */
async function devOf(app: string) {
  return session(async () => {
    const dev = await pycroftOn(hostDir(app)).dev();
    const [widgets, project] = (await sh(dev, VERSIONS)).trim().split("\n");
    const stamps = (await sh(dev, `stat -c %y ${SITE}/six.py ${SITE}/pycroft_fixture_vcs_dep-*.dist-info/METADATA`)).trim().split("\n");
    const gitData = (await sh(dev, "find / -xdev \\( -name .git -o -path '*/.git/*' \\) -print 2>/dev/null | head -n 5")).trim();
    const pkgInfo = await sh(dev, `cat /opt/pycroft/app/${WIDGETS}/PKG-INFO`);
    return { widgets, project, stamps, gitData, pkgInfo };
  });
}

/** Everything a failed call says: its message and, for a failed command, that command's output. */
async function failure(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => {
      throw new Error("the call was expected to fail, and passed");
    },
    (err: Error) => (err instanceof ExecError ? [err.message, err.stderr, err.stdout].join("\n") : err.message),
  );
}

describe.skipIf(noEngine())("versions from git tags on a real engine", () => {
  it("installs a submodule's (.git file) and the app's versions as git describe gives them; git's churn reinstalls nothing, a new commit the new versions", async () => {
    const { app, widgets } = checkout("file");
    const first = await devOf(app);
    expect(first.widgets).toBe("1.2.3");
    expect(versioningitVersion(widgets)).toBe("1.2.3");
    expect(first.project).toBe("0.5.0");
    // The version reaches the image as a PKG-INFO file; git's data does not.
    expect(first.pkgInfo).toBe("Metadata-Version: 2.1\nName: vcs-widgets\nVersion: 1.2.3\n");
    expect(first.gitData).toBe("");

    // git's own churn: a branch, the index rewritten, the objects repacked, in the app and the submodule.
    for (const dir of [app, widgets]) {
      git(dir, "branch", "scratch");
      git(dir, "update-index", "--really-refresh");
      git(dir, "gc", "-q");
    }
    expect(await devOf(app)).toEqual(first);

    // A commit in the submodule, recorded in the app: both move past their tags.
    appendFileSync(join(widgets, "vcs_widgets/__init__.py"), "CHANGED = True\n");
    git(widgets, "commit", "-qam", "change");
    git(app, "commit", "-qam", "move the submodule");
    const moved = await devOf(app);
    expect(moved.widgets).toBe(versioningitVersion(widgets));
    expect(moved.widgets).toMatch(/^1\.2\.3\.post1\+g[0-9a-f]{7,}$/);
    const head = git(app, "rev-parse", "HEAD");
    const [, rev] = moved.project!.match(/^0\.5\.1\.dev1\+g([0-9a-f]{7,})$/) ?? [];
    expect(head.startsWith(rev ?? "-")).toBe(true);
    expect(moved.stamps[0]).not.toBe(first.stamps[0]);

    // A new tag is the new version.
    git(widgets, "tag", "v1.3.0");
    expect((await devOf(app)).widgets).toBe("1.3.0");

    // The prod venv has them too, built as wheels.
    const prod = await session(async () => {
      const image = await pycroftOn(hostDir(app)).buildProd();
      return image.withEntrypoint([]).withExec(["sh", "-c", VERSIONS]).stdout();
    });
    expect(prod.trim().split("\n")).toEqual(["1.3.0", moved.project]);
  });

  it("installs a submodule whose .git is a directory; an edit of the app's code reinstalls no dependency", async () => {
    const { app, widgets } = checkout("dir");
    git(widgets, "commit", "-q", "--allow-empty", "-m", "past the tag");
    git(app, "commit", "-qam", "move the submodule");
    const first = await devOf(app);
    expect(first.widgets).toBe(versioningitVersion(widgets));
    expect(first.widgets).toMatch(/^1\.2\.3\.post1\+g[0-9a-f]{7,}$/);
    expect(first.project).toMatch(/^0\.5\.1\.dev1\+g[0-9a-f]{7,}$/);
    expect(first.gitData).toBe("");

    writeFileSync(join(app, "app/__init__.py"), '"""The app of the fixture, edited."""\n');
    const edited = await devOf(app);
    expect(edited.widgets).toBe(first.widgets);
    expect(edited.stamps[0]).toBe(first.stamps[0]);
    // setuptools-scm marks an uncommitted edit with the date: the app's version changes, its deps' does not.
    expect(edited.project).toBe(`${first.project}.d${edited.project!.slice(-8)}`);
    expect(edited.project).toMatch(/\.d\d{8}$/);
  });

  it("without a version to be had, fails naming each package, the backend's reason and the fix", async () => {
    // The fixture as it is: no git at all.
    const none = await session(() => failure(pycroftOn(hostDir(FIXTURE)).dev()));
    expect(none).toContain("vcs-widgets (deps/vcs-widgets) takes its version from git through versioningit, and its build could not compute one: ");
    expect(none).toContain("NotSdistError: deps/vcs-widgets does not contain a PKG-INFO file");
    expect(none).toContain("Fix: deps/vcs-widgets has no .git: pass a git checkout as --source");
    expect(none).toContain("pycroft-fixture-vcs-dep (the source) takes its version from git through setuptools-scm, and its build could not compute one: ");
    expect(none).not.toMatch(/Traceback|never became ready/);

    // The submodule's tags not fetched.
    const { app, widgets } = checkout("file");
    git(widgets, "tag", "-d", "v1.2.3");
    const untagged = await session(() => failure(pycroftOn(hostDir(app)).dev()));
    expect(untagged).toMatch(/^vcs-widgets \(deps\/vcs-widgets\) takes its version from git through versioningit, and its build could not compute one: .+\. Fix: no tag is reachable from its commit [0-9a-f]{7,} \(a shallow clone, or tags not fetched\): fetch them with 'git fetch --tags' in deps\/vcs-widgets$/);

    // Only the submodule given, without the superproject's .git/modules its .git file points into.
    const cut = await session(() => failure(pycroftOn(hostDir(app).withoutDirectory(".git/modules")).dev()));
    expect(cut).toContain("Fix: deps/vcs-widgets/.git leads to no git data within the directory passed as --source (gitdir: ../../.git/modules/deps/vcs-widgets)");
  });
});
