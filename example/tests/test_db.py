from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from scripts.alembic_wrapper import config
from pycroft.model import Base, User, tenancies


def test_migrations_reach_head(engine):
    head = ScriptDirectory.from_config(config()).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    assert "users" in inspect(engine).get_table_names()


def test_migrations_match_model(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_tenancies_come_from_swdd_schema(session):
    # swdd.tenancy is created and filled by docker/db/docker-entrypoint-initdb.d/swdd.sql
    user = User(login="bob", name="Bob Example", swdd_person_id=1)
    session.add(user)
    session.flush()
    assert [t["room"] for t in tenancies(session, user)] == ["WU5-0101", "WU5-0304"]


def test_user_without_person_id_has_no_tenancies(session):
    assert tenancies(session, User(login="carol", name="Carol Example")) == []
