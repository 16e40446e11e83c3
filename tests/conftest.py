"""Fixtures every test folder shares: one real PostgreSQL server for the whole test session
(started only when a test asks for it), a database of its own per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import Postgres, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def clinic_db(postgres: Postgres) -> str:
    """The URL of a new, empty database: the hub's, for one test."""
    if not postgres.running:  # a partition test that failed while the server was down
        postgres.start()
    return postgres.database()
