"""The service's own tables (API keys, requests, feedback, ended page sessions): defined once, migrated by number.

- `api.sql.schema`: the tables, as SQLAlchemy Core `Table`s; the queries in `api.db` are built from them, so one
  definition serves SQLite and PostgreSQL (no SQL written per dialect, no placeholder rewriting).
- `api.sql.engine`: how a backend is reached: SQLite under the data dir (WAL, `synchronous=FULL`, file mode 0600),
  or PostgreSQL through SQLAlchemy's pool over psycopg 3 (why not psycopg_pool: engine.py).
- `api.sql.migrate`: Alembic, run to its head whenever the database is opened (`kb serve`, `kb keys`).
- `api/sql/migrations/versions/`: the numbered migrations, `0001_...`, `0002_...`; adding a column is one new
  file there plus the column in `schema.py` (tests/reliability/test_migrations.py checks the two agree).

    >>> from api.sql.schema import metadata
    >>> sorted(metadata.tables)
    ['api_keys', 'ended_sessions', 'feedback', 'requests']
"""
