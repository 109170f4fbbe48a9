// publish on a real engine: a tag pushed and pulled back, and one manifest list for amd64 and arm64
// whose arm64 image runs under qemu-user. A file of its own: built cold, the arm64 image is the
// longest test of the suite (11 minutes here), and the other lane goes on with the rest meanwhile.
import { dag, Platform } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { noEngine, pycroft, REGISTRY, session } from "./engine.js";

describe.skipIf(noEngine())("publish on a real engine", () => {
  it.skipIf(!REGISTRY)("publish pushes to a registry and the digest-pinned reference pulls back and runs", async () => {
    await session(async () => {
      const refs = (await pycroft().publish(`${REGISTRY}/pycroft-e2e`, ["e2e", "latest"])).split("\n");
      expect(refs).toHaveLength(2);
      expect(refs[0]).toMatch(new RegExp(`^${REGISTRY!.replaceAll(".", "\\.")}/pycroft-e2e:e2e@sha256:[0-9a-f]{64}$`));
      const digest = refs[0]!.split("@")[1];
      expect(refs[1]!.endsWith(`@${digest}`)).toBe(true);
      const pulled = dag.container().from(`${REGISTRY}/pycroft-e2e@${digest}`);
      expect(await pulled.withExec(["python", "-c", "import web.app; print('pulled')"]).stdout()).toBe("pulled\n");

      // Deleted from the registry, the tag comes back with the next publish: nothing answers it from a cache.
      const registry = (method: string, path: string) =>
        fetch(`http://${REGISTRY}/v2/pycroft-e2e/manifests/${path}`, { method, headers: { Accept: MANIFEST_TYPES.join(", ") } });
      expect((await registry("DELETE", digest!)).status).toBe(202);
      expect((await registry("HEAD", "e2e")).status).toBe(404);
      await pycroft().publish(`${REGISTRY}/pycroft-e2e`, ["e2e", "latest"]);
      expect((await registry("HEAD", "e2e")).status).toBe(200);
    });
  });

  it.skipIf(!REGISTRY || process.env.PYCROFT_E2E_NO_EMULATION)("publish for amd64 and arm64 pushes one manifest list whose images run natively compiled on each", async () => {
    await session(async () => {
      const platforms = ["linux/amd64", "linux/arm64"] as Platform[];
      const [ref] = (await pycroft().publish(`${REGISTRY}/pycroft-e2e-multi`, ["multi"], platforms)).split("\n");
      const digest = ref!.split("@")[1];

      const index = await manifest(`pycroft-e2e-multi/manifests/${digest}`);
      expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture).sort()).toEqual(["amd64", "arm64"]);

      // Each platform's image pulls back from the one reference and runs (arm64 under qemu-user);
      // uwsgi, compiled in the builder, is an ELF binary for that machine (e_machine 62 / 183).
      const machine = "import platform, struct, web.app; b = open('/opt/pycroft/venv/bin/uwsgi', 'rb').read(20); print(platform.machine(), struct.unpack('<H', b[18:20])[0])";
      const run = (platform: Platform) => dag.container({ platform }).from(`${REGISTRY}/pycroft-e2e-multi@${digest}`).withExec(["python", "-c", machine]).stdout();
      expect(await run("linux/amd64" as Platform)).toBe("x86_64 62\n");
      expect(await run("linux/arm64" as Platform)).toBe("aarch64 183\n");
    });
  });
});

/** The manifest types of a multi-platform image: an OCI index, or Docker's manifest list. */
const INDEX_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

/** Every manifest type a registry may hold for an image. */
const MANIFEST_TYPES = [...INDEX_TYPES, "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/** A multi-platform manifest from the e2e registry's HTTP API (reachable from the host, as up.sh runs it). */
async function manifest(path: string) {
  const response = await fetch(`http://${REGISTRY}/v2/${path}`, { headers: { Accept: INDEX_TYPES.join(", ") } });
  expect(response.status).toBe(200);
  return response.json();
}
