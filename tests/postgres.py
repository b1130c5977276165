"""A fresh PostgreSQL database per test (or benchmark run), on the server that
ROLEEXT_TEST_POSTGRES names.

Shared by tests/conftest.py and benchmarks/concurrency.py. Where no server is named the
PostgreSQL half of the tests skips, unless ROLEEXT_REQUIRE_POSTGRES is set (as .ci/run does).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

SERVER_ENV = "ROLEEXT_TEST_POSTGRES"
"""A URL on a throwaway server whose user may create databases: postgresql+psycopg://user@127.0.0.1:5432/postgres"""
REQUIRE_ENV = "ROLEEXT_REQUIRE_POSTGRES"


def server_url() -> str | None:
    """The test server's URL, or None where none is set (then the PostgreSQL tests skip)."""
    return os.environ.get(SERVER_ENV) or None


def postgres_required() -> bool:
    return bool(os.environ.get(REQUIRE_ENV))


@contextmanager
def fresh_database(server: str, prefix: str = "roleext_test") -> Iterator[str]:
    """A new, empty database on `server` for the duration; yields its URL, drops it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:  # FORCE: a process a test left behind must not keep it
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def role_with_connection_limit(url: str, connections: int) -> Iterator[str]:
    """`url` as a new role (no superuser, which no limit binds) that may hold `connections`
    connections at once: a full server, in small. The role and what it made are dropped after."""
    role, password = f"roleext_limited_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' CONNECTION LIMIT {connections}"))
            conn.execute(text(f"GRANT ALL ON SCHEMA public TO {role}"))
        yield make_url(url).set(username=role, password=password).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"))
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        engine.dispose()
