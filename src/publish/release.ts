/**
 * The prod image as a release: built for the platforms asked (each one the Python image has), with
 * its commands and labels checked, and published as one manifest list.
 */
import { Container, dag, Platform, Secret } from "@dagger.io/dagger";

import { checkCeleryApp, checkPlatform, checkProtocol, checkWsgiApp } from "../config.js";
import { Context } from "../context.js";
import { checkImagePlatform } from "../images/base.js";
import { ProdCommands, ReleaseInfo } from "../images/prod.js";
import { publishImage } from "./publish.js";

/** `build-prod`'s and `publish`'s options of the image: its commands and its labels. */
export interface ProdOptions extends ReleaseInfo {
  wsgiApp: string;
  protocol: string;
  celeryApp: string;
}

/** Where `publish` puts the image. */
export interface Destination {
  address: string;
  tags: string[];
  platforms: Platform[];
  username?: string;
  password?: Secret;
}

/** The prod image's commands from the options, checked. */
function commands(o: ProdOptions): ProdCommands {
  return { wsgiApp: checkWsgiApp(o.wsgiApp), protocol: checkProtocol(o.protocol), celeryApp: checkCeleryApp(o.celeryApp) };
}

const release = (o: ProdOptions): ReleaseInfo => ({ source: o.source, revision: o.revision, version: o.version, created: o.created });

/** The prod image for one platform (the engine's when none is given). */
export async function buildProd(ctx: Context, o: ProdOptions, platform?: Platform): Promise<Container> {
  const cmds = commands(o);
  const target = platform === undefined ? undefined : checkPlatform(platform);
  await checkImagePlatform({ ...ctx.settings, platform: target });
  return ctx.prodImage(await ctx.project(), cmds, target, release(o));
}

/** The prod image for every platform, published under every tag; the digest-pinned references, one a line. */
export async function publish(ctx: Context, o: ProdOptions, to: Destination): Promise<string> {
  const cmds = commands(o);
  const platforms = to.platforms.length > 0 ? to.platforms.map(checkPlatform) : [await dag.defaultPlatform()];
  await Promise.all(platforms.map((p) => checkImagePlatform({ ...ctx.settings, platform: p })));
  const project = await ctx.project();
  const variants = platforms.map((p) => ctx.prodImage(project, cmds, p, release(o)));
  const refs = await publishImage(variants, { address: to.address, tags: to.tags, username: to.username, password: to.password });
  return refs.join("\n");
}
