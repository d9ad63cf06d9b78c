"""The relational database of the modules that keep records (the catalog first, then
listing and settlement): the declarative base every table maps on (`base.py`), one way to
open it on SQLite or PostgreSQL (`connect.py`), its schema migrations (`migrate.py`,
`migrations/`) and its errors (`errors.py`).

The tables themselves live with their area (engine/catalog/tables.py, ...); this package
knows none of them.
"""
