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
    refs.push(await publisher.publish(`${repo}:${tag}`, { platformVariants }));
  }
  return refs;
}
