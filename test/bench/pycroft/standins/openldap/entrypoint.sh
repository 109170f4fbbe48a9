#!/bin/bash
# dinkel/openldap's start: configure slapd with debconf when it is not configured (or when
# SLAPD_FORCE_RECONFIGURE=true), add the schemas and modules asked for, then run the command.
set -euo pipefail
# A huge open-files limit makes slapd allocate tables for all of them.
ulimit -n 8192

if [[ ! -d /etc/ldap/slapd.d || "${SLAPD_FORCE_RECONFIGURE:-false}" == "true" ]]; then
  [[ -n "${SLAPD_PASSWORD:-}" ]] || { echo "Error: Container not configured and SLAPD_PASSWORD not set." >&2; exit 1; }
  [[ -n "${SLAPD_DOMAIN:-}" ]] || { echo "Error: Container not configured and SLAPD_DOMAIN not set." >&2; exit 1; }
  SLAPD_ORGANIZATION="${SLAPD_ORGANIZATION:-$SLAPD_DOMAIN}"
  rm -rf /etc/ldap/slapd.d
  cp -a /etc/ldap.dist/. /etc/ldap/
  debconf-set-selections <<DEBCONF
slapd slapd/no_configuration boolean false
slapd slapd/password1 password $SLAPD_PASSWORD
slapd slapd/password2 password $SLAPD_PASSWORD
slapd shared/organization string $SLAPD_ORGANIZATION
slapd slapd/domain string $SLAPD_DOMAIN
slapd slapd/backend select MDB
slapd slapd/purge_database boolean true
slapd slapd/move_old_database boolean true
DEBCONF
  DEBIAN_FRONTEND=noninteractive dpkg-reconfigure -f noninteractive slapd >/dev/null 2>&1
  dc_string=""
  IFS=. read -ra parts <<<"$SLAPD_DOMAIN"
  for part in "${parts[@]}"; do dc_string="$dc_string,dc=$part"; done
  # The clients' default base (ldap.conf comes with libldap-common, a recommendation not installed).
  if [[ -f /etc/ldap/ldap.conf ]]; then sed -i "s/^#BASE.*/BASE ${dc_string:1}/" /etc/ldap/ldap.conf
  else echo "BASE ${dc_string:1}" > /etc/ldap/ldap.conf; fi
  if [[ -n "${SLAPD_ADDITIONAL_SCHEMAS:-}" ]]; then
    IFS=, read -ra schemas <<<"$SLAPD_ADDITIONAL_SCHEMAS"
    for schema in "${schemas[@]}"; do
      slapadd -n0 -F /etc/ldap/slapd.d -l "/etc/ldap/schema/${schema}.ldif"
    done
  fi
  if [[ -n "${SLAPD_ADDITIONAL_MODULES:-}" ]]; then
    IFS=, read -ra modules <<<"$SLAPD_ADDITIONAL_MODULES"
    for module in "${modules[@]}"; do
      file="/etc/ldap/modules/${module}.ldif"
      if [[ "$module" == ppolicy ]]; then
        sed -i "s/\(olcPPolicyDefault: \)PPOLICY_DN/\1${SLAPD_PPOLICY_DN_PREFIX:-cn=default,ou=policies}$dc_string/" "$file"
      fi
      slapadd -n0 -F /etc/ldap/slapd.d -l "$file"
    done
  fi
  chown -R openldap:openldap /etc/ldap/slapd.d
fi
mkdir -p /var/run/slapd
chown -R openldap:openldap /var/lib/ldap /var/run/slapd
exec "$@"
