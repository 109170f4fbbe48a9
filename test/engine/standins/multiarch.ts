// Builds a stand-in's Dockerfile for another platform on the engine (under qemu-user) and publishes it:
//   tsx multiarch.ts PLATFORM ROOTFS_ARCHIVE CONTEXT_DIR REF LABEL=VALUE
// The rootfs archive (rootfs.sh ARCH) goes to the registry first, as the Dockerfile's BASE build arg;
// the image gets the label (the inputs hash multiarch.sh checks). Prints its digest-pinned reference.
// Docker media types: `docker manifest` joins this image with the amd64 one docker pushed.
import { connection, dag, ImageMediaTypes, Platform } from "@dagger.io/dagger";

const [platform, archive, context, ref, label] = process.argv.slice(2);
if (!label?.includes("=")) throw new Error("usage: tsx multiarch.ts PLATFORM ROOTFS_ARCHIVE CONTEXT_DIR REF LABEL=VALUE");
const [labelName, labelValue] = [label.slice(0, label.indexOf("=")), label.slice(label.indexOf("=") + 1)];
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
    .withLabel(labelName, labelValue);
  console.log(await image.publish(ref, { mediaTypes }));
});
