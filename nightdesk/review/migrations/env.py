"""Alembic environment of the review store.

Migrations run on the connection :func:`nightdesk.review.schema.upgrade` hands over (in
``config.attributes["connection"]``), inside the transaction that holds the store's
schema lock, so two processes opening a store at once never migrate it twice. There is
no ``alembic.ini``: :func:`nightdesk.review.schema.alembic_config` builds the config.
"""

from __future__ import annotations

from alembic import context

from nightdesk.review.models import Base
from nightdesk.review.schema import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the review store's migrations run through nightdesk.review.schema.upgrade(connection), "
                       "which passes the connection; offline (SQL script) mode is not supported")
context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
