"""Ingest jobs: pull OCDS from files and endpoints into the database, idempotently and with provenance."""
