"""Suite-wide plugins: the SQLite/PostgreSQL database fixtures (`database_url`, `db`)."""

pytest_plugins = ["tests.storage.fixtures"]
