#!/bin/bash
# Configures slapd (cn=config in /etc/ldap/slapd.d, MDB database in /var/lib/ldap)
# from environment variables at container start, then execs slapd in the
# foreground as user openldap. See README.md for the interface.
#
# Arguments: none -> run slapd; arguments starting with "-" -> extra slapd
# options; anything else -> configure, then exec that command instead.
set -euo pipefail
export LC_ALL=C

CONF_DIR=/etc/ldap/slapd.d
DATA_DIR=/var/lib/ldap
RUN_DIR=/var/run/slapd
SCHEMA_DIR=/etc/ldap/schema
CUSTOM_SCHEMA_DIR=${SLAPD_CUSTOM_SCHEMA_DIR:-/etc/ldap/schema/custom}

SLAPD_DOMAIN=${SLAPD_DOMAIN:-agdsn.de}
SLAPD_ORGANIZATION=${SLAPD_ORGANIZATION:-AG DSN}
# Set but empty: no olcPPolicyDefault at all.
SLAPD_PPOLICY_DN_PREFIX=${SLAPD_PPOLICY_DN_PREFIX-cn=default,ou=policies}
SLAPD_LOG_LEVEL=${SLAPD_LOG_LEVEL:-none}
SLAPD_URLS=${SLAPD_URLS:-ldap:/// ldapi:///}
SLAPD_FORCE_RECONFIGURE=${SLAPD_FORCE_RECONFIGURE:-false}
SLAPD_NOFILE=${SLAPD_NOFILE:-8192}

log() { echo "slapd-entrypoint: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A huge open-files limit (common in containers) makes slapd allocate
# per-descriptor tables for all of them: slow start, lots of memory.
nofile=$(ulimit -n)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt "$SLAPD_NOFILE" ]; then
  ulimit -n "$SLAPD_NOFILE" 2>/dev/null || log "warning: could not lower the open-files limit"
fi

# --- admin password -----------------------------------------------------------
# The hash is made from the exact bytes of the file (slappasswd -T), the same
# bytes `ldapwhoami -y FILE` sends, so a trailing newline would be part of it.
PW_TMP=
cleanup() { [ -z "$PW_TMP" ] || rm -f "$PW_TMP"; }
trap cleanup EXIT
if [ -n "${SLAPD_PASSWORD_FILE:-}" ]; then
  if [ ! -f "$SLAPD_PASSWORD_FILE" ] || [ ! -r "$SLAPD_PASSWORD_FILE" ]; then
    die "SLAPD_PASSWORD_FILE=$SLAPD_PASSWORD_FILE is not a readable file"
  fi
  [ -s "$SLAPD_PASSWORD_FILE" ] || die "SLAPD_PASSWORD_FILE=$SLAPD_PASSWORD_FILE is empty"
  pw_file=$SLAPD_PASSWORD_FILE
elif [ -n "${SLAPD_PASSWORD:-}" ]; then
  PW_TMP=$(mktemp)
  printf '%s' "$SLAPD_PASSWORD" > "$PW_TMP"
  pw_file=$PW_TMP
else
  die "no admin password: set SLAPD_PASSWORD_FILE (path of a file holding the password) or SLAPD_PASSWORD"
fi

# --- base DN ------------------------------------------------------------------
[[ $SLAPD_DOMAIN =~ ^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$ ]] \
  || die "SLAPD_DOMAIN='$SLAPD_DOMAIN' is not a domain name like agdsn.de"
BASE_DN="dc=${SLAPD_DOMAIN//./,dc=}"
BASE_DC=${SLAPD_DOMAIN%%.*}
ADMIN_DN="cn=admin,$BASE_DN"

# --- what is there already ----------------------------------------------------
mkdir -p "$CONF_DIR" "$DATA_DIR" "$RUN_DIR"
have_conf=false; [ -f "$CONF_DIR/cn=config.ldif" ] && have_conf=true
have_data=false; [ -s "$DATA_DIR/data.mdb" ] && have_data=true

case "$SLAPD_FORCE_RECONFIGURE" in
  true|TRUE|True|1|yes) force=true ;;
  *) force=false ;;
esac

write_config() {
  local pw_hash ldif f
  pw_hash=$(slappasswd -h '{SSHA}' -T "$pw_file") || die "slappasswd failed"
  find "$CONF_DIR" -mindepth 1 -delete
  ldif=$(mktemp)
  cat > "$ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $RUN_DIR/slapd.pid
olcArgsFile: $RUN_DIR/slapd.args
olcLogLevel: none
olcToolThreads: 1

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SCHEMA_DIR/core.ldif

include: file://$SCHEMA_DIR/cosine.ldif

include: file://$SCHEMA_DIR/nis.ldif

include: file://$SCHEMA_DIR/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break
olcAccess: {1}to dn.exact="" by * read
olcAccess: {2}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break
olcRootDN: cn=admin,cn=config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $DATA_DIR
olcSuffix: $BASE_DN
olcRootDN: $ADMIN_DN
olcRootPW: $pw_hash
olcDbMaxSize: 1073741824
olcDbCheckpoint: 512 30
olcLastMod: TRUE
olcDbIndex: objectClass eq
olcDbIndex: cn,uid eq
olcDbIndex: uidNumber,gidNumber eq
olcDbIndex: member,memberUid eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to attrs=shadowLastChange by self write by * read
olcAccess: {2}to * by * read

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyHashCleartext: FALSE
olcPPolicyUseLockout: FALSE
olcPPolicyForwardUpdates: FALSE
${SLAPD_PPOLICY_DN_PREFIX:+olcPPolicyDefault: $SLAPD_PPOLICY_DN_PREFIX,$BASE_DN}
EOF
  if ! out=$(slapadd -n0 -F "$CONF_DIR" -l "$ldif" 2>&1); then
    rm -f "$ldif"; echo "$out" >&2; die "could not create cn=config"
  fi
  rm -f "$ldif"

  # Custom schemas: cn=config LDIF (dn: cn=NAME,cn=schema,cn=config), in name order.
  if [ -d "$CUSTOM_SCHEMA_DIR" ]; then
    for f in "$CUSTOM_SCHEMA_DIR"/*.ldif; do
      [ -f "$f" ] || continue
      if ! out=$(slapadd -n0 -F "$CONF_DIR" -l "$f" 2>&1); then
        echo "$out" >&2; die "could not load schema $f"
      fi
      log "loaded schema $f"
    done
  fi
  chown -R openldap:openldap "$CONF_DIR"
}

write_base_entry() {
  local ldif
  find "$DATA_DIR" -mindepth 1 -maxdepth 1 -name '*.mdb' -delete
  ldif=$(mktemp)
  cat > "$ldif" <<EOF
dn: $BASE_DN
objectClass: top
objectClass: dcObject
objectClass: organization
o:: $(printf '%s' "$SLAPD_ORGANIZATION" | base64 -w0)
dc: $BASE_DC
EOF
  if ! out=$(slapadd -n1 -F "$CONF_DIR" -l "$ldif" 2>&1); then
    rm -f "$ldif"; echo "$out" >&2; die "could not create $BASE_DN"
  fi
  rm -f "$ldif"
}

# On a kept configuration the admin password still follows the given one: a dev volume outlives
# a changed password, and a client (or health check) binding with the new one must not be refused.
set_admin_password() {
  local pw_hash out
  pw_hash=$(slappasswd -h '{SSHA}' -T "$pw_file") || die "slappasswd failed"
  if ! out=$(printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcRootPW\nolcRootPW: %s\n' \
      "$pw_hash" | slapmodify -n0 -F "$CONF_DIR" 2>&1); then
    echo "$out" >&2; die "could not set the admin password in the existing configuration"
  fi
}

if $have_conf && $have_data && ! $force; then
  log "existing configuration and database found: keeping them, setting the admin password (other SLAPD_* settings not applied)"
  set_admin_password
elif $have_data && ! $force; then
  log "database found but no configuration: writing cn=config for $BASE_DN, keeping the data"
  write_config
else
  $force && log "SLAPD_FORCE_RECONFIGURE set: wiping configuration and database"
  log "configuring from scratch: base DN $BASE_DN, admin $ADMIN_DN, MDB in $DATA_DIR"
  write_config
  write_base_entry
fi

# The data dir may be a fresh root-owned mount (tmpfs, volume).
chown -R openldap:openldap "$DATA_DIR" "$RUN_DIR" "$CONF_DIR"
chmod 0700 "$DATA_DIR"
cleanup; trap - EXIT

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec "$@"
fi
log "starting slapd (log level $SLAPD_LOG_LEVEL) on $SLAPD_URLS"
exec slapd -d "$SLAPD_LOG_LEVEL" -h "$SLAPD_URLS" -u openldap -g openldap -F "$CONF_DIR" "$@"
