"""The query layer: every store's transactions, written once for SQLite and PostgreSQL."""
