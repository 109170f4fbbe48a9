#!/usr/bin/env bash
# Loads the SQL files ($3…) into the database in one transaction, unless the database already holds a
# load (its comment says so): a dev volume is loaded once, and what a failed load did is rolled back.
# The transaction's advisory lock keeps two loaders of one session from both loading. Files run with
# psql's ON_ERROR_STOP, as Pycroft's `schema-import` runs them; notices are left out. $1 is the log,
# $2 the files' names as given, for the messages. PG* variables name the database (src/services/db-init.ts).
# >>> settings: how a load is marked in the database (the comment on it starts so)
MARK="pycroft db-init"
# <<< settings
set -euo pipefail
log=$1 list=$2; shift 2
digest=$(for f in "$@"; do sha256sum < "$f"; done | sha256sum | cut -c1-16)
script=$(mktemp)
{
  printf '%s\n' 'BEGIN;' \
    "SELECT pg_advisory_xact_lock(hashtext('${MARK}'));" \
    "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS held FROM pg_database WHERE datname = current_database() \\gset" \
    "SELECT :'held' LIKE '${MARK} %' AS loaded \\gset" \
    '\if :loaded' '\echo held :held' '\else'
  for f in "$@"; do printf '\\i %s\n' "$f"; done
  printf '%s\n' "COMMENT ON DATABASE :\"DBNAME\" IS :'mark';" '\echo loaded' '\endif' 'COMMIT;'
} > "$script"
mark="${MARK} sha256:$digest ($list), loaded $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if ! said=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v mark="$mark" -o /dev/null -f "$script"); then
  echo "db-init: nothing of $list was loaded: psql stopped at the error above, and the transaction was rolled back" >&2
  exit 1
fi
case $said in
  loaded) message="db-init: loaded $list into the database $PGDATABASE, in one transaction" ;;
  "held ${MARK} sha256:$digest "*) message="db-init: not loaded again: the database already holds $list (${said#held })" ;;
  held\ *) message="db-init: not loaded: the database already holds other init SQL (${said#held }) and keeps it. To load $list instead, drop what that SQL made and its mark (COMMENT ON DATABASE $PGDATABASE IS NULL), then start again" ;;
  *) echo "db-init: psql said neither loaded nor held: $said" >&2; exit 1 ;;
esac
printf '%s\n' "$message" | tee "$log"
