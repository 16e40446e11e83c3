"""The PostgreSQL fixture is a real server of our own, stoppable and restartable."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import Postgres

pytestmark = pytest.mark.postgres


def test_each_test_gets_an_empty_database_of_its_own(postgres: Postgres, clinic_db: str) -> None:
    with psycopg.connect(clinic_db) as con:
        tables = con.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)
        assert con.execute("SELECT current_setting('port')").fetchone() == (str(postgres.port),)
    assert clinic_db != postgres.database()


def test_the_server_stops_and_starts_again_keeping_its_data(
    postgres: Postgres, clinic_db: str
) -> None:
    with psycopg.connect(clinic_db, autocommit=True) as con:
        con.execute("CREATE TABLE kept (n int)")
        con.execute("INSERT INTO kept VALUES (42)")
    postgres.stop()
    assert not postgres.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(clinic_db, connect_timeout=2)
    postgres.start()
    with psycopg.connect(clinic_db) as con:
        assert con.execute("SELECT n FROM kept").fetchall() == [(42,)]
