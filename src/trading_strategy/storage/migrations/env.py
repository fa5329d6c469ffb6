"""Alembic environment: runs on the connection handed over by ``storage.migrate``.

There is no ``alembic.ini`` and no URL here: the caller opens the connection (and its
transaction, so a failed upgrade leaves the schema as it was) and passes it in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from trading_strategy.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `trading-strategy db upgrade` "
        "(trading_strategy.storage.migrate), not the alembic command"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
