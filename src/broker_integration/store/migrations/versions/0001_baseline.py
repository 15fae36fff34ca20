"""The schema of release 0.1 (hand-kept schema version 8): key-value state, order journal, configuration
versions, metrics buckets, A/B tests, capability profiles.

Idempotent, so it also brings a file of that release — or of an earlier one — up to here: a table that
exists is kept and only the columns it lacks are added (the journal's ``history_marker``, version 7; the A/B
outcomes' TCA figures, version 8). The hand-kept ``schema_version`` table is then dropped: Alembic's
``alembic_version`` replaces it.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_TEXT = sa.Text()


def _tables() -> list[tuple[str, list[sa.Column[object]], list[str]]]:
    """(name, columns, indexed columns) of every table, as release 0.1 defined them."""
    return [
        (
            "kv_state",
            [
                sa.Column("namespace", sa.String(64), primary_key=True),
                sa.Column("key", sa.String(200), primary_key=True),
                sa.Column("value", _TEXT, nullable=False),
                sa.Column("updated_at", _TS, nullable=False),
            ],
            [],
        ),
        (
            "order_journal",
            [
                sa.Column("broker_name", sa.String(64), primary_key=True),
                sa.Column("client_order_id", sa.String(64), primary_key=True),
                sa.Column("instrument", sa.String(32), nullable=False),
                sa.Column("side", sa.String(8), nullable=False),
                sa.Column("quantity", sa.String(40), nullable=False),
                sa.Column("intent", _TEXT, nullable=False),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("broker_order_id", sa.String(64)),
                sa.Column("filled_quantity", sa.String(40)),
                sa.Column("average_fill_price", sa.String(40)),
                sa.Column("attempts", sa.Integer, nullable=False),
                sa.Column("last_error", _TEXT),
                sa.Column("created_at", _TS, nullable=False),
                sa.Column("updated_at", _TS, nullable=False),
                sa.Column("history_marker", sa.String(64)),
            ],
            ["status"],
        ),
        (
            "config_versions",
            [
                sa.Column("scope", sa.String(100), primary_key=True),
                sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
                sa.Column("created_at", _TS, nullable=False),
                sa.Column("source", sa.String(20), nullable=False),
                sa.Column("detail", _TEXT, nullable=False),
                sa.Column("rollback_of", sa.Integer),
                sa.Column("environment", sa.String(40), nullable=False),
                sa.Column("content_hash", sa.String(64), nullable=False),
                sa.Column("content", _TEXT, nullable=False),
                sa.Column("changes", _TEXT, nullable=False),
                sa.Column("origins", _TEXT, nullable=False),
            ],
            [],
        ),
        (
            "metrics_buckets",
            [
                sa.Column("broker_name", sa.String(64), primary_key=True),
                sa.Column("operation", sa.String(64), primary_key=True),
                sa.Column("bucket_start", sa.BigInteger, primary_key=True, autoincrement=False),
                sa.Column("source", sa.String(40), primary_key=True),
                sa.Column("bucket_seconds", sa.Integer, nullable=False),
                sa.Column("calls", sa.BigInteger, nullable=False),
                sa.Column("histogram", _TEXT, nullable=False),
                sa.Column("counters", _TEXT, nullable=False),
                sa.Column("updated_at", _TS, nullable=False),
            ],
            ["bucket_start"],
        ),
        (
            "ab_experiments",
            [
                sa.Column("test_id", sa.String(64), primary_key=True),
                sa.Column("name", sa.String(200), nullable=False),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("config", _TEXT, nullable=False),
                sa.Column("state", _TEXT, nullable=False),
                sa.Column("created_at", _TS, nullable=False),
                sa.Column("started_at", _TS),
                sa.Column("ended_at", _TS),
                sa.Column("updated_at", _TS, nullable=False),
            ],
            ["status"],
        ),
        (
            "ab_orders",
            [
                sa.Column("test_id", sa.String(64), primary_key=True),
                sa.Column("client_order_id", sa.String(64), primary_key=True),
                sa.Column("attempt", sa.Integer, primary_key=True, autoincrement=False),
                sa.Column("arm", sa.String(64), nullable=False),
                sa.Column("propensity", sa.Float, nullable=False),
                sa.Column("probabilities", _TEXT, nullable=False),
                sa.Column("explore", sa.Boolean, nullable=False),
                sa.Column("sticky_key", sa.String(200)),
                sa.Column("failover_from", sa.String(64)),
                sa.Column("assigned_at", _TS, nullable=False),
                sa.Column("status", sa.String(20)),
                sa.Column("success", sa.Boolean),
                sa.Column("sent", sa.Boolean),
                sa.Column("error_code", sa.String(40)),
                sa.Column("latency_ms", sa.Float),
                sa.Column("quote_latency_ms", sa.Float),
                sa.Column("requested_quantity", sa.String(40)),
                sa.Column("filled_quantity", sa.String(40)),
                sa.Column("average_fill_price", sa.String(40)),
                sa.Column("arrival_bid", sa.String(40)),
                sa.Column("arrival_ask", sa.String(40)),
                sa.Column("commission", sa.String(40)),
                sa.Column("slippage_bps", sa.Float),
                sa.Column("spread_cost_bps", sa.Float),
                sa.Column("commission_bps", sa.Float),
                sa.Column("completed_at", _TS),
                sa.Column("arrival_mid", sa.String(40)),
                sa.Column("arrival_source", sa.String(16)),
                sa.Column("quote_home_rate", sa.String(40)),
                sa.Column("price_improvement_bps", sa.Float),
                sa.Column("price_improvement", sa.String(40)),
                sa.Column("execution_cost", sa.String(40)),
                sa.Column("end_mid", sa.String(40)),
                sa.Column("opportunity_cost", sa.String(40)),
                sa.Column("shortfall", sa.String(40)),
                sa.Column("shortfall_bps", sa.Float),
            ],
            ["assigned_at"],
        ),
        (
            "capability_profiles",
            [
                sa.Column("broker_name", sa.String(64), primary_key=True),
                sa.Column("test_type", sa.String(16), primary_key=True),
                sa.Column("adapter_class", sa.String(200), nullable=False),
                sa.Column("discovered_at", _TS, nullable=False),
                sa.Column("expires_at", _TS, nullable=False),
                sa.Column("profile", _TEXT, nullable=False),
            ],
            ["expires_at"],
        ),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns, indexed in _tables():
        if name not in existing:
            op.create_table(name, *columns)
            for indexed_name in indexed:
                op.create_index(f"ix_{name}_{indexed_name}", name, [indexed_name])
            continue
        present = {c["name"] for c in inspector.get_columns(name)}
        missing = [c for c in columns if c.name not in present]
        if missing:
            with op.batch_alter_table(name) as batch:
                for added in missing:
                    batch.add_column(added)
    if "schema_version" in existing:
        op.drop_table("schema_version")


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: delete the database instead")
