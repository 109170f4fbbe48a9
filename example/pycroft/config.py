"""Configuration, read only from the environment variables Pycroft uses."""
import os
from dataclasses import dataclass


def env(name: str) -> str:
    """A required setting: a missing one is an error, never a silent default."""
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(f"Environment variable {name} must be set") from None


def db_uri() -> str:
    return env("PYCROFT_DB_URI")


@dataclass(frozen=True)
class LdapConfig:
    host: str
    port: int
    bind_dn: str
    bind_pw: str
    base_dn: str

    @classmethod
    def from_env(cls) -> "LdapConfig":
        return cls(
            host=env("PYCROFT_LDAP_HOST"),
            port=int(env("PYCROFT_LDAP_PORT")),
            bind_dn=env("PYCROFT_LDAP_BIND_DN"),
            bind_pw=env("PYCROFT_LDAP_BIND_PW"),
            base_dn=env("PYCROFT_LDAP_BASE_DN"),
        )
