"""Fixtures for the real services. A missing or unreachable service makes the
tests that need it ERROR: nothing here skips."""
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import ldap_sync as ldap
from pycroft.config import LdapConfig, db_uri
from pycroft.model import engine as cached_engine
from web import make_app


def run_cli(*args: str) -> None:
    """Run a console command of the installed app; its output is shown if it fails."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


@pytest.fixture(scope="session")
def engine():
    engine = cached_engine(db_uri())
    # Through the CLI the deployment uses; downgrading first makes reruns start clean.
    run_cli(sys.executable, "-m", "flask", "alembic", "downgrade", "base")
    run_cli(sys.executable, "-m", "flask", "alembic", "upgrade", "head")
    return engine


@pytest.fixture
def session(engine):
    """A session whose changes are rolled back after the test."""
    with engine.connect() as connection, connection.begin() as transaction:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        transaction.rollback()


@pytest.fixture
def committed_user(engine):
    """A user visible to other connections (e.g. the app's), deleted afterwards."""
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO users (login, name, swdd_person_id) VALUES ('alice', 'Alice Example', 1)"
        ))
    yield "alice"
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users WHERE login = 'alice'"))


@pytest.fixture
def ldap_config() -> LdapConfig:
    return LdapConfig.from_env()


@pytest.fixture
def ldap_conn(ldap_config):
    """Admin connection with an empty base DN."""
    conn = ldap.connect(ldap_config)
    ldap.ensure_base_dn(conn, ldap_config.base_dn)
    ldap.delete_below(conn, ldap_config.base_dn)
    yield conn
    conn.unbind()


@pytest.fixture(scope="session")
def celery_app():
    """The app's Celery app, with a worker started as deployed (`celery -A pycroft.task worker`)."""
    from pycroft.task import app

    # Fail now with the broker's error, rather than let the worker retry forever.
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=2)

    hostname = f"pytest-{os.getpid()}@localhost"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pycroft.task", "worker",
         "--pool=solo", "--without-mingle", "--loglevel=INFO", f"--hostname={hostname}"],
    )
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[hostname], timeout=1):
            if worker.poll() is not None:
                raise RuntimeError(f"celery worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("celery worker did not answer a ping within 30 s")
        yield app
    finally:
        worker.terminate()
        worker.wait(timeout=20)


@pytest.fixture
def client():
    app = make_app()
    app.testing = True  # a view's exception fails the test with its own traceback
    return app.test_client()
