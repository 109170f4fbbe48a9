// The module's constructor options at their defaults, as `settings()` takes them raw.
import { DEFAULTS } from "../../src/config.js";

export const RAW_DEFAULTS = {
  uid: DEFAULTS.uid,
  gid: DEFAULTS.gid,
  user: DEFAULTS.user,
  home: DEFAULTS.home,
  venv: DEFAULTS.venv,
  appDir: DEFAULTS.appDir,
  pythonImage: DEFAULTS.pythonImage,
  uvVersion: DEFAULTS.uvVersion,
  postgresImage: DEFAULTS.postgresImage,
  rabbitmqImage: DEFAULTS.rabbitmqImage,
  debianImage: DEFAULTS.debianImage,
};
