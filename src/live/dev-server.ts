import { Container, Secret, Service } from "@dagger.io/dagger";

import { Settings } from "../config.js";
import { receiver, withReceiver } from "./receiver.js";
import { shellWords } from "../scripts/index.js";
import { devServer } from "../dev/servers.js";
import { Project } from "../images/project.js";

/**
 * The dev server with live edits (compose's `dev-app` + `dev-bundler` on a bind mount): the sync
 * receiver and the bundler in watch mode run beside flask's reloading dev server in one container, so
 * an edit that reaches the app dir is seen by both, as on compose's shared checkout.
 */
export function liveDevServer(s: Settings, app: Container, project: Project, token: Secret, migrateCommand: string, beside: string[]): Service {
  const bundler = project.js ? [shellWords(project.js.watch)] : [];
  return devServer(app.with(withReceiver(token)), migrateCommand, [shellWords(receiver(s)), ...bundler, ...beside]);
}
