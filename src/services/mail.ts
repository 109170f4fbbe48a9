import { dag, File } from "@dagger.io/dagger";

import { DEFAULTS, Settings } from "../config.js";
import { aptInstall, aptMirror } from "../images/apt.js";
import { script, shellWords } from "../scripts/index.js";
import { ServiceSpec } from "./service.js";

/** The debugging mail server's packages, as Pycroft's mail.Dockerfile installs them. */
const MAIL_PACKAGES = ["python3", "python3-aiosmtpd", "python3-termcolor"];
const SCRIPT = "/opt/mail/mail.py";

/** Ready once the server holds an SMTP conversation, not just an open port (src/scripts/smtp-ready.py). */
const SMTP_READY = shellWords(["python3", "-c", script("smtp-ready.py"), String(DEFAULTS.mailPort)]);

/**
 * Pycroft's dev `mail` service (docker/mail.Dockerfile): the source's debugging SMTP server
 * (docker/mail.py, aiosmtpd) on Debian, which prints every mail it gets instead of sending it.
 */
export function mail(s: Settings, script: File): ServiceSpec {
  return {
    host: "mail",
    container: dag
      .container()
      .from(s.debianImage)
      .withEnvVariable("DEBIAN_FRONTEND", "noninteractive")
      .with(aptMirror(s))
      .with(aptInstall(s, MAIL_PACKAGES))
      .withFile(SCRIPT, script)
      .withWorkdir("/opt/mail"),
    command: ["python3", "-u", SCRIPT],
    port: DEFAULTS.mailPort,
    dataDirs: [],
    ready: SMTP_READY,
  };
}
