import * as sdk from "@dagger.io/dagger";

/**
 * `@up()`, which marks the function `dagger up` runs. The SDK that `dagger call` bundles into a module
 * (0.21.8) does not export it, and a missing named import stops the module from loading; Dagger reads
 * the decorator from the source, so where the SDK lacks it a decorator that changes nothing stands in.
 */
export const up: typeof sdk.up = (sdk as Partial<typeof sdk>).up ?? (() => (_target, _key, descriptor) => descriptor);
