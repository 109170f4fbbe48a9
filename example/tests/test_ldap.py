import ldap_sync as ldap


def test_bind_as_admin(ldap_conn, ldap_config):
    assert ldap_conn.extend.standard.who_am_i() == f"dn:{ldap_config.bind_dn}"


def test_group_of_members(ldap_conn, ldap_config):
    # groupOfMembers exists only if docker/ldap/schema/group-of-members.ldif was loaded
    base = ldap_config.base_dn
    alice = ldap.add_user(ldap_conn, base, "alice", "Alice Example")
    bob = ldap.add_user(ldap_conn, base, "bob", "Bob Example")
    ldap.add_group(ldap_conn, base, "network-access", [alice, bob])
    ldap.add_group(ldap_conn, base, "admins", [alice])

    assert ldap.groups_of(ldap_conn, base, alice) == ["admins", "network-access"]
    assert ldap.groups_of(ldap_conn, base, bob) == ["network-access"]
