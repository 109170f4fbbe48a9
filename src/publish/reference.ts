import { UsageError } from "../config.js";

// The grammar of github.com/distribution/reference, without tag or digest.
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const REPOSITORY = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;

/** Checks an image repository (`registry.example.org/group/pycroft`, no tag) and returns it. */
export function repository(address: string | undefined): string {
  if (!address) {
    throw new UsageError("publishing needs an image address, e.g. --address registry.agdsn.de/agdsn/pycroft");
  }
  const last = address.slice(address.lastIndexOf("/") + 1);
  if (last.includes(":") || address.includes("@")) {
    throw new UsageError(`give the address without tag or digest and the tags with --tag, got "${address}"`);
  }
  if (!REPOSITORY.test(address)) {
    throw new UsageError(`"${address}" is not a valid image repository (lower-case path components, optional registry host)`);
  }
  return address;
}

/** Checks image tags: letters, digits, `_`, `.`, `-`, at most 128, not starting with `.` or `-`. */
export function tags(list: string[]): string[] {
  if (list.length === 0) return ["latest"];
  for (const tag of list) {
    if (!TAG.test(tag)) {
      throw new UsageError(`"${tag}" is not a valid image tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
    }
  }
  return [...new Set(list)];
}

/** The registry host an address is pushed to, as registry auth wants it (Docker Hub when none). */
export function registryHost(address: string): string {
  const first = address.split("/")[0];
  const isHost = address.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? first : "docker.io";
}
