"""The editors' review queue: every generated draft waits here for a human decision.

State lives in a transactional store (SQLite by default, PostgreSQL when
``NIGHTDESK_REVIEW_DB_URL`` names one) rather than the warehouse, because decisions need
row-level, conditional updates that ClickHouse does not offer. Modules: ``models`` (the
tables), ``schema`` and ``migrations/`` (the tables' Alembic revisions, applied when a
store opens), ``states`` (the state machine), ``store`` (engines and lock handling),
``queue`` (the operations), ``verdict`` (what a draft's checks verified, who wrote it),
``recheck`` (the checks again on an editor's text), ``users`` and ``passwords`` (editor
accounts).
"""
