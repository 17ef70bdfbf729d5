"""The Whoosh search index over processes; knows nothing of Flask."""
