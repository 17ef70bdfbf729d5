"""The open procurement portal.

Layers, bottom up (imports only ever point down; `tests/test_layers.py` checks it):
- `portal.models`, `portal.vocabulary`, `portal.domain`, `portal.database`: the data model and plain functions,
  no Flask;
- `ingest` and `search_index`: loading sources and the full-text index, built on those, no Flask;
- `portal.app` (the app factory), `portal.public` (blueprints), `portal.cli`: the web app and commands on top.
"""

__version__ = "0.1.0"
