"""The production instance's PostgreSQL storages (dagster-postgres), with a small connection pool.

dagster-postgres opens a new PostgreSQL connection for every storage operation (SQLAlchemy
NullPool, "to prevent accumulating connections per DagsterInstance"); storing one event takes
about three. A connection costs a backend process fork and a SCRAM handshake: 6 ms each on
127.0.0.1 here, more across a network with TLS. Measured (`python benchmarks/postgres_instance.py`,
a 23-date run of all 20 assets): stock 61.2 s and 6,175 PostgreSQL sessions, pooled 9.9 s and 52. Dagster itself
swaps in a pooled engine for the webserver (`optimize_for_webserver`); these classes do the same
in every process (run workers, the daemon): at most `pool_size` idle connections per storage,
recycled hourly and pinged before use, so a restarted database is reconnected transparently.
They also turn on Dagster's event batching, which the PostgreSQL event log implements.
"""

from __future__ import annotations

import os

import sqlalchemy.pool as db_pool
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

from nba_pipeline.instance.storage import EVENT_BATCH_SIZE

POOL = {"poolclass": db_pool.QueuePool, "pool_size": 2, "max_overflow": 8, "pool_recycle": 3600, "pool_pre_ping": True}


class _Pooled:
    """Mixed in before a dagster-postgres storage: its engine replaced by a pooled one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # (creates the tables on first use, with its own engine)
        self._engine.dispose()
        self._engine = create_pg_engine(self.postgres_url, self._token_provider, isolation_level="AUTOCOMMIT", **POOL)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    pass


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    pass
