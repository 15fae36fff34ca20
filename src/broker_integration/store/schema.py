"""The store's tables: one schema for SQLite and PostgreSQL, in portable SQLAlchemy types.

This is the schema the newest migration (:mod:`broker_integration.store.migrations`) produces; a test
compares the two on both engines. A later feature adds its tables here and a migration that creates them,
never editing an applied migration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

__all__ = [
    "AB_ORDERS_TCA_COLUMNS",
    "UtcDateTime",
    "ab_experiments_table",
    "ab_orders_table",
    "capability_profiles_table",
    "config_versions_table",
    "kv_table",
    "metadata",
    "metrics_buckets_table",
    "order_journal_table",
    "rate_limits_table",
]

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime column. Stores UTC; hands back aware UTC datetimes even from
    databases that keep no zone (SQLite), so no caller has to guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


kv_table = Table(
    "kv_state",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

order_journal_table = Table(
    "order_journal",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("client_order_id", String(64), primary_key=True),
    Column("instrument", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("intent", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("broker_order_id", String(64)),
    Column("filled_quantity", String(40)),
    Column("average_fill_price", String(40)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    #: The broker's history marker taken just before sending (``BrokerAdapter.history_marker``).
    Column("history_marker", String(64)),
    #: The journal instance that wrote the intent: its liveness is a session advisory lock on PostgreSQL,
    #: so the others know when its unknown outcomes are orphans (migration 0002).
    Column("owner_key", Integer),
    #: A random token of the write of the intent: after a commit whose answer was lost, finding one's own
    #: token proves the intent is ours, not another process's copy (migration 0002).
    Column("intent_token", String(32)),
)


#: One row per applied configuration version (``broker_integration.config``). ``content`` is the
#: secret-masked document: secrets appear only as ``${VAR}`` references, ``ENC[...]`` ciphertext or a mask.
config_versions_table = Table(
    "config_versions",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("source", String(20), nullable=False),
    Column("detail", Text, nullable=False),
    Column("rollback_of", Integer),
    Column("environment", String(40), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("changes", Text, nullable=False),
    Column("origins", Text, nullable=False),
)

#: Performance metrics (``broker_integration.metrics``): one row per broker, operation, minute and writing
#: collector. ``bucket_start`` is Unix seconds (UTC); ``histogram`` is an encoded HdrHistogram of latency in
#: microseconds; ``counters`` is JSON (calls, failures by code, orders, fills, costs, health checks).
metrics_buckets_table = Table(
    "metrics_buckets",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("bucket_start", BigInteger, primary_key=True, autoincrement=False, index=True),
    Column("source", String(40), primary_key=True),
    Column("bucket_seconds", Integer, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("histogram", Text, nullable=False),
    Column("counters", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


#: A/B tests (``broker_integration.ab_testing``): one row per experiment. ``config`` is the experiment's
#: configuration as JSON; ``state`` is JSON analysis state (running minima of always-valid p-values).
ab_experiments_table = Table(
    "ab_experiments",
    metadata,
    Column("test_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("config", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("ended_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: One row per order attempt in an A/B test: the routing decision (written before the order is sent) and
#: its measured outcome (filled in when the broker answered). Attempt 0 is the randomised assignment;
#: later attempts are failovers. Money and quantities are decimal strings; statistics are floats.
ab_orders_table = Table(
    "ab_orders",
    metadata,
    Column("test_id", String(64), primary_key=True),
    Column("client_order_id", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("arm", String(64), nullable=False),
    Column("propensity", Float, nullable=False),
    Column("probabilities", Text, nullable=False),
    Column("explore", Boolean, nullable=False),
    Column("sticky_key", String(200)),
    Column("failover_from", String(64)),
    Column("assigned_at", UtcDateTime(), nullable=False, index=True),
    Column("status", String(20)),
    Column("success", Boolean),
    Column("sent", Boolean),
    Column("error_code", String(40)),
    Column("latency_ms", Float),
    Column("quote_latency_ms", Float),
    Column("requested_quantity", String(40)),
    Column("filled_quantity", String(40)),
    Column("average_fill_price", String(40)),
    Column("arrival_bid", String(40)),
    Column("arrival_ask", String(40)),
    Column("commission", String(40)),
    Column("slippage_bps", Float),
    Column("spread_cost_bps", Float),
    Column("commission_bps", Float),
    Column("completed_at", UtcDateTime()),
    # transaction cost analysis (schema 8 of the hand-kept versions; ``broker_integration.tca``)
    Column("arrival_mid", String(40)),
    Column("arrival_source", String(16)),
    Column("quote_home_rate", String(40)),
    Column("price_improvement_bps", Float),
    Column("price_improvement", String(40)),
    Column("execution_cost", String(40)),
    Column("end_mid", String(40)),
    Column("opportunity_cost", String(40)),
    Column("shortfall", String(40)),
    Column("shortfall_bps", Float),
)

#: The ``ab_orders`` columns the hand-kept schema version 8 added (the baseline migration adds them to an
#: older file).
AB_ORDERS_TCA_COLUMNS = (
    "arrival_mid",
    "arrival_source",
    "quote_home_rate",
    "price_improvement_bps",
    "price_improvement",
    "execution_cost",
    "end_mid",
    "opportunity_cost",
    "shortfall",
    "shortfall_bps",
)


#: Capability profiles (``broker_integration.capability_discovery``): the newest profile per broker and test
#: type, as JSON, with when it was discovered and when it stops being served from the cache.
capability_profiles_table = Table(
    "capability_profiles",
    metadata,
    Column("broker_name", String(64), primary_key=True),
    Column("test_type", String(16), primary_key=True),
    Column("adapter_class", String(200), nullable=False),
    Column("discovered_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("profile", Text, nullable=False),
)


#: Rate limits shared by every process trading one broker account (``broker_integration.pipeline.
#: shared_limits``): one GCRA row per limit. ``tat`` is the theoretical arrival time of the next call and
#: ``cooldown_until`` the end of a broker's 429 pause, both in seconds of the database's clock (migration 0002).
rate_limits_table = Table(
    "rate_limits",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("tat", Double(), nullable=False),
    Column("cooldown_until", Double(), nullable=False),
)
