#!/usr/bin/env bash
# Entrypoint of the postgres stand-in: a condensed version of the official image's, for its
# documented interface (POSTGRES_USER/PASSWORD[_FILE]/DB/INITDB_ARGS/HOST_AUTH_METHOD, PGDATA,
# /docker-entrypoint-initdb.d, extra server args). Not supported: running under an arbitrary
# --user uid without a passwd entry (the official one uses nss_wrapper), POSTGRES_INITDB_WALDIR.
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR or the contents of the file named by VAR_FILE.
file_env() {
  local var=$1 fileVar="${1}_FILE" def="${2:-}" val
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"; exit 1
  fi
  val=$def
  if [ "${!var:-}" ]; then val=${!var}; elif [ "${!fileVar:-}" ]; then val=$(< "${!fileVar}"); fi
  export "$var"="$val"; unset "$fileVar"
}

# psql against POSTGRES_DB as POSTGRES_USER over the local socket, stopping on the first error.
process_sql() {
  local q=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  [ -z "$POSTGRES_DB" ] || q+=(--dbname "$POSTGRES_DB")
  PGHOST='' PGHOSTADDR='' "${q[@]}" "$@"
}

# Run by the official image's rules: *.sh (executed if executable, else sourced), *.sql, *.sql.gz/xz.
process_init_files() {
  local f
  for f; do
    # shellcheck disable=SC1090
    case "$f" in
      *.sh) if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "$0: running $f"; process_sql -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | process_sql ;;
      *.sql.xz) echo "$0: running $f"; xzcat "$f" | process_sql ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

want_help() {
  local a; for a; do case "$a" in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac; done
  return 1
}

# `docker run IMAGE -c x=y` means args for postgres.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && ! want_help "$@"; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS

  # The data dir may be an empty root-owned mount (volume, tmpfs): make it postgres' own.
  mkdir -p "$PGDATA"; chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql; chmod 03775 /var/run/postgresql || :
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    # Re-run this script as postgres (setpriv: util-linux's gosu); the env passes through.
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
  fi

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
      cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       Or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password.
MSG
      exit 1
    fi
    ls /docker-entrypoint-initdb.d/ > /dev/null   # fail early on an unreadable init dir

    # initdb; POSTGRES_INITDB_ARGS is word-split like upstream's (eval keeps quoted args).
    eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
    # Password auth for every non-local connection: POSTGRES_HOST_AUTH_METHOD, else the
    # server's password_encryption (scram-sha-256 on 15, md5 if set so by the args).
    : "${POSTGRES_HOST_AUTH_METHOD:=$(postgres -C password_encryption "${@:2}")}"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

    # Temporary server reachable only over the socket, for creating the db and the init files.
    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -w start \
      -o "$(printf '%q ' "${@:2}" -c listen_addresses= -p "${PGPORT:-5432}")"
    if [ "$POSTGRES_DB" != postgres ]; then
      # POSTGRES_DB='' for the function only; db= gets its outer value (as upstream does).
      # shellcheck disable=SC2097,SC2098
      exists=$(POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
        <<< "SELECT 1 FROM pg_database WHERE datname = :'db';")
      # shellcheck disable=SC2097,SC2098
      [ -n "$exists" ] || POSTGRES_DB='' process_sql --dbname postgres --set db="$POSTGRES_DB" \
        <<< 'CREATE DATABASE :"db";'
    fi
    process_init_files /docker-entrypoint-initdb.d/*
    PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo; echo 'PostgreSQL init process complete; ready for start up.'; echo
  else
    echo; echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'; echo
  fi
fi

exec "$@"
