"""Alembic's environment: migrate on the connection the store passed in ``config.attributes``.

There is no ``alembic.ini`` and no offline (SQL script) mode: the store applies migrations itself when it
opens (:func:`broker_integration.store.migrate.upgrade`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from broker_integration.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the store's migrations run only through Store.open() (no connection was given)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
