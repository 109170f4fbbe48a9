// The module's options at their defaults, as `settings()` takes them raw: what `dagger call` gives it
// when no option is passed.
import { Options, OPTIONS } from "../../src/config.js";

export const RAW_DEFAULTS: Options = Object.fromEntries(
  Object.entries(OPTIONS).flatMap(([name, option]) => ("default" in option ? [[name, option.default]] : [])),
);
