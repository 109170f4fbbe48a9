"""The LDAP side (Pycroft's `ldap_sync`): users and groupOfMembers groups under PYCROFT_LDAP_BASE_DN."""
import ldap3
from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from pycroft.config import LdapConfig


def connect(config: LdapConfig) -> ldap3.Connection:
    """A connection bound as the configured DN; errors raise instead of returning False."""
    server = ldap3.Server(config.host, port=config.port, connect_timeout=5)
    return ldap3.Connection(
        server,
        config.bind_dn,
        config.bind_pw,
        auto_bind=True,
        raise_exceptions=True,
        receive_timeout=10,
    )


def ensure_base_dn(conn: ldap3.Connection, base_dn: str) -> None:
    """Create the base entry (an organizationalUnit) unless it exists; its parent must."""
    attr, value, _ = parse_dn(base_dn)[0]
    if attr.lower() != "ou":
        raise ValueError(f"base DN {base_dn!r} must start with ou=")
    try:
        conn.add(base_dn, "organizationalUnit", {"ou": value})
    except LDAPEntryAlreadyExistsResult:
        pass


def delete_below(conn: ldap3.Connection, base_dn: str) -> None:
    """Delete every entry below base_dn, deepest first."""
    conn.search(base_dn, "(objectClass=*)", ldap3.SUBTREE, attributes=[])
    dns = [entry.entry_dn for entry in conn.entries if entry.entry_dn.lower() != base_dn.lower()]
    for dn in sorted(dns, key=lambda dn: len(parse_dn(dn)), reverse=True):
        conn.delete(dn)


def add_user(conn: ldap3.Connection, base_dn: str, login: str, name: str) -> str:
    dn = f"uid={login},{base_dn}"
    conn.add(dn, "inetOrgPerson", {"uid": login, "cn": name, "sn": name.split()[-1]})
    return dn


def add_group(conn: ldap3.Connection, base_dn: str, name: str, member_dns: list[str]) -> str:
    """A groupOfMembers group: the objectClass from docker/ldap/schema/group-of-members.ldif."""
    dn = f"cn={name},{base_dn}"
    conn.add(dn, "groupOfMembers", {"cn": name, "member": member_dns})
    return dn


def groups_of(conn: ldap3.Connection, base_dn: str, member_dn: str) -> list[str]:
    """Names of the groupOfMembers groups that list member_dn."""
    query = f"(&(objectClass=groupOfMembers)(member={escape_filter_chars(member_dn)}))"
    conn.search(base_dn, query, ldap3.SUBTREE, attributes=["cn"])
    return sorted(entry.cn.value for entry in conn.entries)
