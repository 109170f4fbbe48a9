import { describe, expect, it } from "vitest";

import { RAW_DEFAULTS } from "../support/raw-settings.js";

import { settings, UsageError } from "../../src/config.js";
import { registryHost, repository, tags } from "../../src/publish/reference.js";
import { baseDn } from "../../src/services/openldap.js";
import { dotenvValue } from "../../src/images/project.js";
import { coverageArgs, summary } from "../../src/testing/pytest.js";

const raw = RAW_DEFAULTS;

describe("settings", () => {
  it("accepts Pycroft's defaults as they are", () => {
    const s = settings(raw);
    expect(s).toMatchObject({ uid: 1000, gid: 1000, user: "pycroft", venv: "/opt/pycroft/venv", appDir: "/opt/pycroft/app" });
    expect(s.aptMirror).toBeUndefined();
    expect(s.aptPackages).toEqual([]);
  });

  it.each([
    ["uid", 0, /uid must be a whole number from 1 to 65534, got 0/],
    ["uid", 70000, /uid must be .* got 70000/],
    ["gid", 1.5, /gid must be .* got 1.5/],
    ["gid", Number.NaN, /gid must be .* got NaN/],
  ])("rejects %s=%s", (key, value, message) => {
    expect(() => settings({ ...raw, [key]: value })).toThrow(message);
  });

  it("names the option that is wrong", () => {
    expect(() => settings({ ...raw, user: "Pycroft User" })).toThrow(/user must be a lower-case login name/);
    expect(() => settings({ ...raw, uid: 0 })).toThrow("uid must be a whole number from 1 to 65534, got 0");
    expect(() => settings({ ...raw, gid: 70000 })).toThrow("gid must be a whole number from 1 to 65534, got 70000");
    expect(() => settings({ ...raw, venv: "venv" })).toThrow(/venv must be an absolute path/);
    expect(() => settings({ ...raw, home: "/opt/../etc" })).toThrow(/home must be an absolute path/);
    expect(() => settings({ ...raw, aptMirror: "ftp.agdsn.de" })).toThrow(/aptMirror must be a URL/);
    expect(() => settings({ ...raw, pythonIndex: "ftp://x" })).toThrow(/pythonIndex must be an http\(s\) URL/);
    expect(() => settings({ ...raw, aptPackages: ["vim; rm -rf /"] })).toThrow(/is not a Debian package name/);
    expect(() => settings({ ...raw, uvVersion: "latest" })).toThrow(/uvVersion must be an exact version/);
    expect(() => settings({ ...raw, pythonImage: "" })).toThrow(/pythonImage must be an image reference/);
  });

  it("raises UsageError, whose message is the whole story", () => {
    try {
      settings({ ...raw, uid: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
    }
  });

  it("normalises mirrors and paths", () => {
    const s = settings({ ...raw, aptMirror: "http://ftp.agdsn.de/debian/", home: "/srv/pycroft/" });
    expect(s.aptMirror).toBe("http://ftp.agdsn.de/debian");
    expect(s.home).toBe("/srv/pycroft");
  });
});

describe("image references", () => {
  it("accepts repositories with and without a registry host", () => {
    expect(repository("registry.agdsn.de/agdsn/coreos/pycroft/pycroft")).toBe("registry.agdsn.de/agdsn/coreos/pycroft/pycroft");
    expect(repository("127.0.0.1:5000/pycroft")).toBe("127.0.0.1:5000/pycroft");
    expect(repository("agdsn/pycroft")).toBe("agdsn/pycroft");
  });

  it("explains what is wrong with an address", () => {
    expect(() => repository(undefined)).toThrow(/publishing needs an image address/);
    expect(() => repository("")).toThrow(/publishing needs an image address/);
    expect(() => repository("agdsn/pycroft:1.0")).toThrow(/without tag or digest/);
    expect(() => repository("agdsn/pycroft@sha256:abc")).toThrow(/without tag or digest/);
    expect(() => repository("Agdsn/Pycroft")).toThrow(/is not a valid image repository/);
  });

  it("validates tags and defaults to latest", () => {
    expect(tags([])).toEqual(["latest"]);
    expect(tags(["1.2.3", "develop", "1.2.3"])).toEqual(["1.2.3", "develop"]);
    expect(() => tags(["feature/x"])).toThrow(/"feature\/x" is not a valid image tag/);
    expect(() => tags(["-rc"])).toThrow(/not a valid image tag/);
    expect(() => tags(["a".repeat(129)])).toThrow(/not a valid image tag/);
  });

  it("finds the registry to log in to", () => {
    expect(registryHost("registry.agdsn.de/agdsn/pycroft")).toBe("registry.agdsn.de");
    expect(registryHost("127.0.0.1:5000/pycroft")).toBe("127.0.0.1:5000");
    expect(registryHost("localhost/pycroft")).toBe("localhost");
    expect(registryHost("agdsn/pycroft")).toBe("docker.io");
  });
});

describe("small helpers", () => {
  it("derives the base DN from the domain", () => {
    expect(baseDn("agdsn.de")).toBe("dc=agdsn,dc=de");
  });

  it("keeps the end of pytest's output, where the summary is", () => {
    const output = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const tail = summary(output, 3).split("\n");
    expect(tail).toEqual(["line 97", "line 98", "line 99"]);
  });

  it("reads a variable from a dotenv file as python-dotenv does", () => {
    expect(dotenvValue("FLASK_APP=scripts.server_run:prepare_server\n", "FLASK_APP")).toBe("scripts.server_run:prepare_server");
    expect(dotenvValue("# app\nexport FLASK_APP = 'web.app:make_app()'\nFLASK_DEBUG=1", "FLASK_APP")).toBe("web.app:make_app()");
    expect(dotenvValue('FLASK_APP="a.b:c"  # the app', "FLASK_APP")).toBe("a.b:c");
    expect(dotenvValue("FLASK_APP=x # comment", "FLASK_APP")).toBe("x");
    expect(dotenvValue("FLASK_DEBUG=1\n", "FLASK_APP")).toBeUndefined();
    expect(dotenvValue("FLASK_APP=\n", "FLASK_APP")).toBeUndefined();
  });

  it("measures coverage of the packages given, or of the coverage settings' source", () => {
    expect(coverageArgs(["pycroft", "web"])).toEqual(["--cov=pycroft", "--cov=web"]);
    expect(coverageArgs([])).toEqual(["--cov"]);
  });
});
