// The unit config as mutation testing (`npm run mutate`, stryker.config.mjs) runs it: without the
// files that read src/'s text (those that check the CLI binding, the reference made from it and the SDK names it imports, which the Dagger
// introspector reads from it, and the one that finds each script's reader there). In Stryker's sandbox that text is
// instrumented, which the introspector cannot read, and a mutant is switched on at run time, which
// never changes the text: those tests could not fail for any mutant.
import { mergeConfig } from "vitest/config";

import unit from "./vitest.config.js";

export default mergeConfig(unit, {
  test: {
    exclude: ["test/unit/binding.test.ts", "test/unit/ci-files.test.ts", "test/unit/docs.test.ts", "test/unit/module-mode.test.ts", "test/unit/script-files.test.ts"],
  },
});
