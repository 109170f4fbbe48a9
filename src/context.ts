/**
 * What one function call works from, built once at its start and passed down: the checked options,
 * the source, the services' credentials, and the project (the source inspected, its git versions
 * computed) once something needs it. The stages build from it; nothing below re-reads the options.
 */
import { randomUUID } from "node:crypto";

import { Container, Directory, Platform, Secret, Service } from "@dagger.io/dagger";

import { DEFAULTS, Settings, UsageError } from "./config.js";
import { dev, withBundle } from "./images/dev.js";
import { inspect, Project } from "./images/project.js";
import { ProdCommands, prod, ReleaseInfo } from "./images/prod.js";
import { vcsVersions } from "./images/vcs.js";
import { appEnvironment, withEnvironment } from "./services/app-environment.js";
import { serve, ServiceSpec, Storage } from "./services/service.js";
import { bindAll, Credentials, serveAll, specs, StackOptions } from "./services/stack.js";
import { withDevState } from "./dev/servers.js";

/** What the module object carries between the calls of a chain. */
export interface State {
  /** The checked options, as the constructor stored them. */
  options: string;
  source: Directory;
  vcs: Directory;
  openldapContext: Directory;
  dbPassword?: Secret;
  ldapPassword?: Secret;
  mqPassword?: Secret;
}

/** The services (and their specs), the app image, and the image with the services bound: what a stack runs in. */
export interface AppStack {
  specs: ServiceSpec[];
  services: Record<string, Service>;
  image: Container;
  app: Container;
}

export class Context {
  readonly settings: Settings;
  readonly source: Directory;
  readonly credentials: Credentials;
  private readonly state: State;
  private projectOnce?: Promise<Project>;

  constructor(state: State) {
    this.state = state;
    this.settings = JSON.parse(state.options) as Settings;
    this.source = state.source;
    const { db, ldap, mq } = DEFAULTS.passwords;
    // Secrets only when given: the defaults are public, and a secret's value is scrubbed from all output (password.ts).
    this.credentials = { db: state.dbPassword ?? db, ldap: state.ldapPassword ?? ldap, mq: state.mqPassword ?? mq };
  }

  /** The source inspected and its git-versioned packages' versions computed: once a call. */
  project(): Promise<Project> {
    this.projectOnce ??= inspect(this.source).then((p) => vcsVersions(this.settings, this.source, this.state.vcs, p));
    return this.projectOnce;
  }

  devImage(project: Project): Container {
    return dev(this.settings, this.source, project);
  }

  prodImage(project: Project, commands: ProdCommands, platform: Platform | undefined, release: ReleaseInfo): Container {
    return prod({ ...this.settings, platform }, this.source, project, commands, release);
  }

  /** The dev image, bundled, with the app's environment: what the tests and the dev services run in. */
  async appImage(project: Project): Promise<Container> {
    const env = await appEnvironment(this.credentials, DEFAULTS.ldapDomain, project.flaskApp);
    return this.devImage(project).with(withBundle(this.settings, this.source, project)).with(withEnvironment(env));
  }

  /** Fresh storage on tmpfs for one run's services, named apart from every other run's. */
  tmpfs(): Extract<Storage, { kind: "tmpfs" }> {
    return { kind: "tmpfs", runId: randomUUID() };
  }

  /** The dev volumes of the source's project: what dev-env, dev-stack and shell keep across sessions. */
  async devVolumes(): Promise<Storage> {
    return { kind: "volumes", project: (await this.project()).name };
  }

  /**
   * The app image with a stack of services bound (keycloak only when asked); on the dev volumes,
   * with the dev user's state (histories) kept too.
   */
  async appStack(storage: Storage, keycloak: boolean): Promise<AppStack> {
    const options = this.stackOptions(storage, keycloak, await this.project());
    const list = specs(options);
    const services = serveAll(list, storage);
    const built = await this.appImage(options.project);
    const image = storage.kind === "volumes" ? built.with(withDevState(this.settings, storage.project)) : built;
    return { specs: list, services, image, app: image.with(bindAll(services)) };
  }

  /** One service of the stack alone, fresh on tmpfs. */
  async service(host: string, keycloak = false): Promise<Service> {
    const storage = this.tmpfs();
    const spec = specs(this.stackOptions(storage, keycloak, await this.project())).find((s) => s.host === host);
    if (!spec) throw new UsageError(`no service named ${host}`);
    return serve(spec, storage);
  }

  private stackOptions(storage: Storage, keycloak: boolean, project: Project): StackOptions {
    return {
      settings: this.settings,
      source: this.source,
      project,
      credentials: this.credentials,
      openldapContext: this.state.openldapContext,
      storage,
      keycloak,
    };
  }
}
