"""The administrators' command-line tools: `python -m admin.clients|officers|calendar`.

Each is argument parsing and printing over `db/` (where their SQL lives), against DATABASE_URL; the
database must already be migrated (`python -m db.migrate`).
"""
