// The flags of `npm run call` that stand before pytest's arguments, spelled as the Dagger CLI's.

/** A leading `--shards N`; the rest goes to pytest. */
export function shardsOption(rest: string[]): { shards: number | undefined; args: string[] } {
  return rest[0] === "--shards" ? { shards: Number(rest[1]), args: rest.slice(2) } : { shards: undefined, args: rest };
}

/** Leading `--with-worker=BOOL` and `--with-keycloak=BOOL`, in any order; the rest goes to pytest. */
export function serviceOptions(rest: string[]): { worker?: boolean; keycloak?: boolean; args: string[] } {
  const options: { worker?: boolean; keycloak?: boolean } = {};
  let i = 0;
  for (; i < rest.length; i++) {
    const flag = rest[i]!.match(/^--with-(worker|keycloak)=(true|false)$/);
    if (!flag) break;
    options[flag[1] as "worker" | "keycloak"] = flag[2] === "true";
  }
  return { ...options, args: rest.slice(i) };
}
