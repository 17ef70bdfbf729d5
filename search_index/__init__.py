"""The Whoosh search index over processes; knows nothing of Flask."""

from search_index import whoosh_fixes  # noqa: F401  (applied before any index is written)
