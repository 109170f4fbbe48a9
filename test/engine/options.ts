// The flags of `npm run call` that stand before pytest's arguments, spelled as the Dagger CLI's.

/** A leading `--shards N`; the rest goes to pytest. */
export function shardsOption(rest: string[]): { shards: number | undefined; args: string[] } {
  return rest[0] === "--shards" ? { shards: Number(rest[1]), args: rest.slice(2) } : { shards: undefined, args: rest };
}

/** test-stack's options, as `upTestStack` takes them. */
export interface StackFlags {
  worker?: boolean;
  keycloak?: boolean;
  ahead?: boolean;
}

const FLAGS: Record<string, keyof StackFlags> = { "with-worker": "worker", "with-keycloak": "keycloak", "start-ahead": "ahead" };

/**
 * Leading `--with-worker=BOOL`, `--with-keycloak=BOOL` and `--start-ahead=BOOL`, in any order; the
 * rest goes to pytest.
 */
export function stackOptions(rest: string[]): StackFlags & { args: string[] } {
  const options: StackFlags = {};
  let i = 0;
  for (; i < rest.length; i++) {
    const flag = rest[i]!.match(/^--([a-z-]+)=(true|false)$/);
    if (!flag || !FLAGS[flag[1]!]) break;
    options[FLAGS[flag[1]!]!] = flag[2] === "true";
  }
  return { ...options, args: rest.slice(i) };
}
