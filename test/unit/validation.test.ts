// What the options accept and refuse, value by value: the caller's input goes into shell commands,
// image references and file paths, so each check is tried on both sides of its boundary.
import { describe, expect, it } from "vitest";

import { RAW_DEFAULTS } from "../support/raw-settings.js";

import {
  checkCeleryApp, checkPlatform, checkProtocol, checkRuffFormat, checkWorker, checkWsgiApp, dbInitOrder, owner, parseWorker, parseWorkers, RUFF_FORMATS,
  settings, UsageError,
} from "../../src/config.js";
import { registryHost, repository, tags } from "../../src/publish/reference.js";
import { dotenvValue } from "../../src/images/project.js";
import { baseDn } from "../../src/services/openldap.js";

const raw = RAW_DEFAULTS;

/** The error a call throws (failing when it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, got none");
}

describe("IDs", () => {
  it.each([1, 2, 1000, 65533, 65534])("accepts %s", (id) => {
    expect(settings({ ...raw, uid: id, gid: id })).toMatchObject({ uid: id, gid: id });
  });

  it.each([0, -1, 65535, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses %s, naming the option and the range", (id) => {
    expect(() => settings({ ...raw, uid: id })).toThrow(`uid must be a whole number from 1 to 65534, got ${id}`);
    expect(() => settings({ ...raw, gid: id })).toThrow(`gid must be a whole number from 1 to 65534, got ${id}`);
  });

  it("gives Dagger's owner option as uid:gid", () => {
    expect(owner(settings({ ...raw, uid: 1234, gid: 4321 }))).toBe("1234:4321");
  });
});

describe("the user name", () => {
  it.each(["pycroft", "_app", "a", "app-user_2", "a".repeat(32)])("accepts %s", (user) => {
    expect(settings({ ...raw, user }).user).toBe(user);
  });

  it.each(["", "Pycroft", "pycroft user", "2app", "-app", "app.user", "a".repeat(33), "app\n", "root;id"])("refuses %j", (user) => {
    expect(() => settings({ ...raw, user })).toThrow(`user must be a lower-case login name (letters, digits, _ and -), got "${user}"`);
  });
});

describe("paths", () => {
  it("keeps an absolute path, without its trailing slashes", () => {
    expect(settings({ ...raw, home: "/srv/pycroft" }).home).toBe("/srv/pycroft");
    expect(settings({ ...raw, venv: "/srv/venv//" }).venv).toBe("/srv/venv");
    expect(settings({ ...raw, appDir: "/" }).appDir).toBe("/");
    expect(settings({ ...raw, appDir: "///" }).appDir).toBe("/");
    expect(settings({ ...raw, home: "/srv/a..b/c" }).home).toBe("/srv/a..b/c");
  });

  it.each([
    ["home", "opt/pycroft"],
    ["home", "/opt/pycroft home"],
    ["venv", "/opt/../etc"],
    ["venv", "/opt/venv/.."],
    ["appDir", "/opt/\tapp"],
    ["appDir", ""],
  ])("refuses %s=%j, naming it", (name, value) => {
    expect(() => settings({ ...raw, [name]: value })).toThrow(`${name} must be an absolute path without spaces or "..", got "${value}"`);
  });
});

describe("packages and versions", () => {
  it("takes Debian package names, versions and architectures included", () => {
    const aptPackages = ["vim", "libpq5", "g++", "python3.11", "libc6:amd64", "curl=7.88.1-10+deb12u5", "foo~bar"];
    expect(settings({ ...raw, aptPackages }).aptPackages).toEqual(aptPackages);
  });

  it.each(["Vim", "-vim", "vim curl", "vim;id", "", "$(id)"])("refuses the Debian package %j", (pkg) => {
    expect(() => settings({ ...raw, aptPackages: ["vim", pkg] })).toThrow(`"${pkg}" is not a Debian package name`);
  });

  it("takes Python package names as uv.lock spells them", () => {
    const noInstallPackage = ["guzzle-sphinx-theme", "Flask", "zope.interface", "a", "ab", "x_y", "A1"];
    expect(settings({ ...raw, noInstallPackage }).noInstallPackage).toEqual(noInstallPackage);
  });

  it.each(["guzzle sphinx", "-pkg", "pkg-", ".pkg", "pkg.", "", "pkg;id", "pkg\n"])("refuses the Python package %j", (pkg) => {
    expect(() => settings({ ...raw, noInstallPackage: [pkg] })).toThrow(`noInstallPackage: "${pkg}" is not a Python package name`);
  });

  it("defaults both lists to empty", () => {
    expect(settings(raw)).toMatchObject({ aptPackages: [], noInstallPackage: [] });
  });

  it.each(["0.9.28", "1.0.0", "10.20.30"])("takes the exact uv version %s", (uvVersion) => {
    expect(settings({ ...raw, uvVersion }).uvVersion).toBe(uvVersion);
  });

  it.each(["latest", "0.9", "0.9.28.1", "v0.9.28", "0.9.28 ", "0.9.x", ">=0.9.28"])("refuses the uv version %j", (uvVersion) => {
    expect(() => settings({ ...raw, uvVersion })).toThrow(`uvVersion must be an exact version such as 0.9.28, got "${uvVersion}"`);
  });
});

describe("mirrors", () => {
  it("takes http and https URLs without their trailing slashes, and leaves an empty one unset", () => {
    const s = settings({ ...raw, aptMirror: "https://deb.example.org/debian//", pythonIndex: "http://pypi.local:3141/simple/" });
    expect([s.aptMirror, s.pythonIndex]).toEqual(["https://deb.example.org/debian", "http://pypi.local:3141/simple"]);
    const none = settings({ ...raw, aptMirror: "", pythonIndex: "" });
    expect([none.aptMirror, none.pythonIndex]).toEqual([undefined, undefined]);
  });

  it("refuses what is not an http(s) URL, naming the option", () => {
    expect(() => settings({ ...raw, aptMirror: "ftp.agdsn.de" })).toThrow('aptMirror must be a URL such as http://ftp.agdsn.de/debian, got "ftp.agdsn.de"');
    expect(() => settings({ ...raw, pythonIndex: "pypi" })).toThrow('pythonIndex must be a URL such as http://ftp.agdsn.de/debian, got "pypi"');
    expect(() => settings({ ...raw, aptMirror: "ftp://ftp.agdsn.de/debian" })).toThrow('aptMirror must be an http(s) URL, got "ftp://ftp.agdsn.de/debian"');
    expect(() => settings({ ...raw, pythonIndex: "file:///srv/simple" })).toThrow('pythonIndex must be an http(s) URL, got "file:///srv/simple"');
  });
});

describe("images", () => {
  it.each(["pythonImage", "postgresImage", "rabbitmqImage", "debianImage"])("%s: takes a reference, refuses an empty one or one with spaces", (name) => {
    expect(settings({ ...raw, [name]: "registry.local:5000/lib/img:1@sha256:abc" })).toMatchObject({ [name]: "registry.local:5000/lib/img:1@sha256:abc" });
    for (const bad of ["", "python 3", "python:3\n"]) {
      expect(() => settings({ ...raw, [name]: bad })).toThrow(`${name} must be an image reference such as python:3.12-slim-bookworm, got "${bad}"`);
    }
  });

  it("reports a bad option as a UsageError", () => {
    for (const bad of [{ uid: 0 }, { user: "X" }, { home: "x" }, { aptMirror: "x" }, { pythonImage: "" }, { uvVersion: "x" }, { aptPackages: ["X"] }, { noInstallPackage: ["-"] }]) {
      expect(errorOf(() => settings({ ...raw, ...bad }))).toBeInstanceOf(UsageError);
    }
    expect(errorOf(() => settings({ ...raw, uid: 0 })).name).toBe("UsageError");
  });
});

describe("platforms", () => {
  it.each(["linux/amd64", "linux/arm64", "linux/arm64/v8", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/386", "linux/ppc64le", "linux/s390x", "linux/riscv64"])(
    "builds for %s",
    (p) => {
      expect(checkPlatform(p as never)).toBe(p);
    },
  );

  it.each(["linux/amd46", "windows/amd64", "linux/arm", "linux/arm/v8", "linux/arm64/v7", "xlinux/amd64", "linux/amd64x", "linux/amd64/v2", ""])(
    "refuses %j with the list of architectures",
    (p) => {
      expect(() => checkPlatform(p as never)).toThrow(
        `unknown platform "${p}": use linux/ARCH (amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64), e.g. linux/arm64`,
      );
    },
  );
});

describe("the prod image's commands", () => {
  it.each(["scripts.server_run:prepare_server()", "web.app:make_app()", "app:application", "_a.b_2:C"])("serves the WSGI app %s", (app) => {
    expect(checkWsgiApp(app)).toBe(app);
  });

  it.each(["web.app", ":app", "web.app:", "web.app:make_app(x)", "web..app:x", "web.app:x()()", "2web:x", "web.app:x'; id", "web app:x", "web.app:x()\n"])(
    "refuses the WSGI app %j",
    (app) => {
      expect(() => checkWsgiApp(app)).toThrow(`wsgiApp must be module:callable or module:factory(), such as scripts.server_run:prepare_server(), got "${app}"`);
    },
  );

  it.each(["pycroft.task", "tasks", "other.tasks:app", "_x.y:_z"])("runs the Celery app %s", (app) => {
    expect(checkCeleryApp(app)).toBe(app);
  });

  it.each(["pycroft task", "pycroft.task:", "pycroft.task:app()", ".task", "task.", "a:b:c", "x;id", ""])("refuses the Celery app %j", (app) => {
    expect(() => checkCeleryApp(app)).toThrow(`celeryApp must be a module such as pycroft.task (optionally module:app), got "${app}"`);
  });

  it("speaks http or uwsgi", () => {
    expect(checkProtocol("http")).toBe("http");
    expect(checkProtocol("uwsgi")).toBe("uwsgi");
    expect(() => checkProtocol("https")).toThrow('protocol must be http or uwsgi, got "https"');
  });

  it("takes each of ruff's output formats and nothing else", () => {
    for (const format of ["concise", "full", "json", "json-lines", "junit", "grouped", "github", "gitlab", "pylint", "rdjson", "azure", "sarif"]) {
      expect(checkRuffFormat(format)).toBe(format);
    }
    expect(RUFF_FORMATS).toHaveLength(12);
    expect(() => checkRuffFormat("text")).toThrow(
      'outputFormat must be one of concise, full, json, json-lines, junit, grouped, github, gitlab, pylint, rdjson, azure, sarif (ruff\'s --output-format), got "text"',
    );
  });
});

describe("image references", () => {
  it.each([
    "pycroft",
    "agdsn/pycroft",
    "registry.agdsn.de/agdsn/coreos/pycroft/pycroft",
    "localhost:5000/pycroft",
    "127.0.0.1:5000/a/b",
    "[::1]:5000/pycroft",
    "my-registry.example.org/a_b/c__d/e-f/g.h",
    "registry/a--b",
  ])("accepts the repository %s", (address) => {
    expect(repository(address)).toBe(address);
  });

  it.each(["agdsn/Pycroft", "agdsn//pycroft", "agdsn/pycroft/", "/pycroft", "agdsn/-pycroft", "agdsn/pycroft-", "agdsn/py_-croft", "agdsn/a___b", "reg-.de/pycroft", "agdsn /pycroft"])(
    "refuses the repository %j",
    (address) => {
      expect(() => repository(address)).toThrow(`"${address}" is not a valid image repository (lower-case path components, optional registry host)`);
    },
  );

  it("wants tags and digests apart from the address, but a registry port is no tag", () => {
    expect(() => repository("agdsn/pycroft:1.0")).toThrow('give the address without tag or digest and the tags with --tag, got "agdsn/pycroft:1.0"');
    expect(() => repository("localhost:5000/pycroft:1.0")).toThrow("without tag or digest");
    expect(() => repository("pycroft@sha256:abc")).toThrow("without tag or digest");
    expect(() => repository(undefined)).toThrow("publishing needs an image address, e.g. --address registry.agdsn.de/agdsn/pycroft");
  });

  it("takes tags of up to 128 characters, in order, each once", () => {
    expect(tags(["v1.2.3", "_build", "1", "latest", "v1.2.3", "a".repeat(128)])).toEqual(["v1.2.3", "_build", "1", "latest", "a".repeat(128)]);
    expect(tags([])).toEqual(["latest"]);
  });

  it.each([".hidden", "-rc", "a".repeat(129), "a b", "a:b", "", "é"])("refuses the tag %j", (tag) => {
    expect(() => tags(["ok", tag])).toThrow(`"${tag}" is not a valid image tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  });

  it("logs in to the registry the address names, Docker Hub otherwise", () => {
    expect(registryHost("registry.agdsn.de/agdsn/pycroft")).toBe("registry.agdsn.de");
    expect(registryHost("localhost:5000/pycroft")).toBe("localhost:5000");
    expect(registryHost("localhost/pycroft")).toBe("localhost");
    expect(registryHost("agdsn/pycroft")).toBe("docker.io");
    expect(registryHost("pycroft")).toBe("docker.io");
    expect(registryHost("registry.agdsn.de")).toBe("docker.io");
  });
});

describe("dotenv files", () => {
  it("reads the variable asked for, the first assignment winning, and nothing else", () => {
    const text = "# the app\n\nFLASK_DEBUG=1\n  FLASK_APP = web.app:make_app  \nFLASK_APP=other\n";
    expect(dotenvValue(text, "FLASK_APP")).toBe("web.app:make_app");
    expect(dotenvValue(text, "FLASK_DEBUG")).toBe("1");
    expect(dotenvValue(text, "FLASK")).toBeUndefined();
    expect(dotenvValue("XFLASK_APP=x\nFLASK_APPX=y", "FLASK_APP")).toBeUndefined();
  });

  it("unquotes, drops comments after a value, and takes `export`", () => {
    expect(dotenvValue("export FLASK_APP=a.b:c", "FLASK_APP")).toBe("a.b:c");
    expect(dotenvValue("FLASK_APP='a b'", "FLASK_APP")).toBe("a b");
    expect(dotenvValue('FLASK_APP="a # b"', "FLASK_APP")).toBe("a # b");
    expect(dotenvValue('FLASK_APP="a.b:c" # the app', "FLASK_APP")).toBe("a.b:c");
    expect(dotenvValue("FLASK_APP=a.b:c   # the app", "FLASK_APP")).toBe("a.b:c");
    expect(dotenvValue("FLASK_APP=a#b", "FLASK_APP")).toBe("a#b");
    expect(dotenvValue(`FLASK_APP="a.b:c'`, "FLASK_APP")).toBe(`"a.b:c'`);
    expect(dotenvValue('FLASK_APP=""', "FLASK_APP")).toBeUndefined();
  });
});

describe("the LDAP base DN", () => {
  it("has one dc per label of the domain", () => {
    expect(baseDn("agdsn.de")).toBe("dc=agdsn,dc=de");
    expect(baseDn("wh2.tu-dresden.de")).toBe("dc=wh2,dc=tu-dresden,dc=de");
    expect(baseDn("local")).toBe("dc=local");
  });
});

describe("--worker NAME:QUEUE[+QUEUE…][:CONCURRENCY]", () => {
  it.each([
    ["tasks:celery", { name: "tasks", queues: ["celery"] }],
    ["hades:dummy_tasks:4", { name: "hades", queues: ["dummy_tasks"], concurrency: 4 }],
    ["timestamp-signer:timestamp+snapshot:2", { name: "timestamp-signer", queues: ["timestamp", "snapshot"], concurrency: 2 }],
    ["delegated-targets-signer:delegated_targets", { name: "delegated-targets-signer", queues: ["delegated_targets"] }],
    ["w1:a.b-c_D:64", { name: "w1", queues: ["a.b-c_D"], concurrency: 64 }],
    ["0:_q:1", { name: "0", queues: ["_q"], concurrency: 1 }],
    [`${"a".repeat(63)}:q`, { name: "a".repeat(63), queues: ["q"] }],
  ])("reads %j", (value, spec) => {
    expect(parseWorker(value)).toEqual(spec);
  });

  const FORMAT = "NAME:QUEUE[+QUEUE…][:CONCURRENCY], e.g. tasks:celery or signer:timestamp+snapshot:2 (dagger call splits list flags at commas: join queues with +)";

  it.each(["app", "", "app:q:2:3", "a:b:c:d"])("refuses %j, showing the format", (value) => {
    expect(() => parseWorker(value)).toThrow(`--worker "${value}" must be ${FORMAT}`);
  });

  it("refuses a worker without a queue", () => {
    expect(() => parseWorker("app:")).toThrow(`--worker "app:" names no queue: ${FORMAT}`);
    expect(() => parseWorker("app::2")).toThrow(`--worker "app::2" names no queue: ${FORMAT}`);
  });

  it("tells what dagger call made of queues joined with commas", () => {
    // `--worker signer:timestamp,snapshot:2` reaches the module as two values.
    expect(() => parseWorkers(["signer:timestamp", "snapshot:2"])).toThrow(
      `worker snapshot: queue "2" must start with a letter or _ and hold only letters, digits, _, . and - (a concurrency after a comma? ${FORMAT})`,
    );
    expect(() => parseWorkers(["signer:timestamp", "snapshot"])).toThrow(`--worker "snapshot" must be ${FORMAT}`);
  });

  it.each(["App", "-app", "app-", "a_b", "a.b", "a b", "a".repeat(64), "app;id"])("refuses the name %j: it is a hostname", (name) => {
    expect(() => parseWorker(`${name}:q`)).toThrow(
      `worker name must be a hostname (lower-case letters, digits and -, at most 63), such as celery-worker, got "${name}"`,
    );
  });

  it.each(["app", "db", "ldap", "mq", "keycloak", "mail", "dummy-worker"])("refuses %s, a service's hostname", (name) => {
    expect(() => parseWorker(`${name}:q`)).toThrow(`worker name "${name}" is the ${name} service's hostname: give the worker another name`);
  });

  it.each(["1q", "q,r", "q r", "q;id", "q/r", "q@r", "ü", "a".repeat(256)])("refuses the queue %j", (queue) => {
    expect(() => checkWorker({ name: "w", queues: [queue] })).toThrow(`worker w: queue "${queue}" must start with a letter or _ and hold only letters, digits, _, . and -`);
  });

  it("refuses an empty queue between two +, and a queue named twice", () => {
    expect(() => parseWorker("w:a++b")).toThrow('worker w: queue "" must start with a letter or _');
    expect(() => parseWorker("w:a+b+a")).toThrow("worker w: a queue is named twice in a, b, a");
  });

  it.each(["0", "65", "-1", "x", "1.5", " 2", "2 "])("refuses the concurrency %j", (n) => {
    expect(() => parseWorker(`w:q:${n}`)).toThrow(/concurrency must be a whole number from 1 to 64/);
  });

  it.each([0, 65, 1.5, Number.NaN])("refuses the concurrency %s given as a number", (n) => {
    expect(() => checkWorker({ name: "w", queues: [], concurrency: n })).toThrow(`worker w: concurrency must be a whole number from 1 to 64, got ${n}`);
  });

  it("takes no queues as the app's default queue, and no concurrency as Celery's", () => {
    expect(checkWorker({ name: "celery-worker", queues: [] })).toEqual({ name: "celery-worker", queues: [] });
    expect(checkWorker({ name: "w", queues: ["q"], concurrency: undefined })).toEqual({ name: "w", queues: ["q"] });
  });

  it("lets workers share a queue, never a name", () => {
    expect(parseWorkers(["a:q", "b:q+r"]).map((w) => w.name)).toEqual(["a", "b"]);
    expect(parseWorkers([])).toEqual([]);
    expect(() => parseWorkers(["a:q", "b:r", "a:s"])).toThrow('two workers are named "a": each --worker needs a name of its own');
  });

  it("reports every mistake as a UsageError", () => {
    for (const bad of [["x"], ["X:q"], ["db:q"], ["w:1"], ["w:q:0"], ["w:q", "w:r"]]) {
      expect(errorOf(() => parseWorkers(bad))).toBeInstanceOf(UsageError);
    }
  });
});

describe("the SQL files --db-init and --db-init-file load", () => {
  it("loads the directory's top-level .sql files in byte order of their names, then the files in the order given", () => {
    // In byte order "pycroft.sql" comes before "pycroft_schema.sql": a dump before its schema, which is why Pycroft's are given as files.
    expect(dbInitOrder(["pycroft_schema.sql", "pycroft.sql", "README", "sub/", "10-b.sql", "2-a.sql", "B.sql"], ["z.sql", "a.sql"])).toEqual({
      fromDir: ["10-b.sql", "2-a.sql", "B.sql", "pycroft.sql", "pycroft_schema.sql"],
      files: ["z.sql", "a.sql"],
    });
    expect(dbInitOrder(undefined, [])).toEqual({ fromDir: [], files: [] });
    expect(dbInitOrder(undefined, ["pycroft_schema.sql", "pycroft.sql"]).files).toEqual(["pycroft_schema.sql", "pycroft.sql"]);
  });

  it("refuses a directory without an .sql file, saying what it has", () => {
    expect(() => dbInitOrder(["README.md", "data.sql.gz", "old.sql/"], [])).toThrow(
      "--db-init holds no .sql file at its top level (it has README.md, data.sql.gz, old.sql/): it loads DIR/*.sql in name order",
    );
    expect(() => dbInitOrder([], ["a.sql"])).toThrow("--db-init holds no .sql file at its top level: it loads DIR/*.sql in name order");
  });

  it.each(["dump.sql.gz", "schema.SQL", "pycroft.dump", "sql"])("refuses the file %j", (name) => {
    const err = errorOf(() => dbInitOrder(undefined, ["ok.sql", name]));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`--db-init-file "${name}" is no .sql file: give plain SQL files (a pg_dump in its plain format too)`);
  });
});
