"""Suite-wide plugins: the SQLite/PostgreSQL database fixtures (`database_url`, `db`) and the
`testbot` fixture that runs chat lines through the router (tests/testbot.py)."""

pytest_plugins = ["tests.storage.fixtures", "tests.testbot"]
