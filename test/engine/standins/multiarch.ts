// Builds a stand-in's Dockerfile for another platform on the engine (under qemu-user) and publishes it:
//   tsx multiarch.ts PLATFORM ROOTFS_ARCHIVE CONTEXT_DIR REF HASH
// The rootfs archive (rootfs.sh ARCH) goes to the registry first, as the Dockerfile's BASE build arg;
// HASH becomes the image's stand-in label. Prints the published image's digest-pinned reference.
// Docker media types: `docker manifest` joins this image with the amd64 one docker pushed.
import { connection, dag, ImageMediaTypes, Platform } from "@dagger.io/dagger";

const [platform, archive, context, ref, hash] = process.argv.slice(2);
if (!hash) throw new Error("usage: tsx multiarch.ts PLATFORM ROOTFS_ARCHIVE CONTEXT_DIR REF HASH");
const registry = ref.slice(0, ref.indexOf("/"));
const arch = platform.split("/")[1];
const mediaTypes = ImageMediaTypes.Docker;

await connection(async () => {
  const rootfs = await dag
    .container({ platform: platform as Platform })
    .import_(dag.host().file(archive))
    .publish(`${registry}/pycroft-standin/debian-rootfs:bookworm-${arch}`, { mediaTypes });
  const image = dag
    .host()
    .directory(context)
    .dockerBuild({ platform: platform as Platform, buildArgs: [{ name: "BASE", value: rootfs }] })
    .withLabel("org.pycroft.standin.hash", hash);
  console.log(await image.publish(ref, { mediaTypes }));
});
