"""Repositories: the core's storage ports, one module each, on a transaction's `Sql`."""
