// The order the e2e files start in: the longest first, so that two lanes end close together. A file
// not listed here (a new one) starts after these.
import { basename } from "node:path";

import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files, longest first. publish leads for a cold engine, where its arm64 build under qemu took
 * 686 s of the images file's 1087 s (in one lane, as one file); warm, it takes 25 s. Then, in warm CI
 * runs here, two at a time: dev 176-290 s, images 200-480 s (the most after an engine start), test
 * 140-235 s, the others under 80 s each. The first two start together, so their order is moot.
 */
export const E2E_ORDER = ["publish", "dev", "images", "test", "services", "vcs", "checks", "errors"].map((name) => `${name}.e2e.test.ts`);

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const i = E2E_ORDER.indexOf(basename(file.moduleId));
      return i === -1 ? E2E_ORDER.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}
