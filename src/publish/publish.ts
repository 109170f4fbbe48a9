import { Container, dag, Secret } from "@dagger.io/dagger";

import { UsageError } from "../config.js";
import { registryHost, repository, tags } from "./reference.js";

export interface PublishOptions {
  /** Repository without tag. */
  address: string;
  tags: string[];
  username?: string;
  password?: Secret;
}

/**
 * Publishes one image per platform as a single manifest list under each tag and returns the
 * digest-pinned references.
 */
export async function publishImage(variants: Container[], o: PublishOptions): Promise<string[]> {
  const repo = repository(o.address);
  const tagList = tags(o.tags);
  if (!!o.username !== !!o.password) {
    throw new UsageError("registry credentials need both --username and --password");
  }
  const authed = (c: Container) =>
    o.username && o.password ? c.withRegistryAuth(registryHost(repo), o.username, o.password) : c;
  const publisher = authed(variants.length === 1 ? variants[0] : dag.container());
  const platformVariants = variants.length === 1 ? [] : variants;
  const refs: string[] = [];
  // One tag after another: a registry that rejects the first push fails fast with one clear error.
  for (const tag of tagList) {
    const ref = `${repo}:${tag}`;
    refs.push(await publisher.publish(ref, { platformVariants }).catch((err: Error) => Promise.reject(pushFailure(ref, err))));
  }
  return refs;
}

/** A failed push, with the registry's own words and what to check. */
function pushFailure(ref: string, err: Error): Error {
  const cause = err.message.trim();
  const hint = /unauthorized|authentication required|denied|\b40[13]\b/i.test(cause)
    ? "the registry refused the credentials: check --username and --password, and the user's push rights"
    : "check the address, and that the registry is reachable from the Dagger engine (not only from this machine)";
  return new Error(`could not publish ${ref}: ${cause}\n${hint}`);
}
