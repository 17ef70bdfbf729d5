"""Settings, read from the environment (PORTAL_*), with embedded defaults that need no service running."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def default_settings(instance_path: str) -> dict:
    instance = Path(instance_path)
    return {
        # SQLite and a Whoosh index in the instance folder: the portal runs with nothing else installed.
        "DATABASE_URL": os.environ.get("PORTAL_DATABASE_URL", f"sqlite:///{instance / 'portal.sqlite'}"),
        "INDEX_DIR": os.environ.get("PORTAL_INDEX_DIR", str(instance / "index")),
        # A random key per process is safe (no sessions survive a restart); set one to keep them.
        "SECRET_KEY": os.environ.get("PORTAL_SECRET_KEY") or secrets.token_hex(32),
        "PER_PAGE": int(os.environ.get("PORTAL_PER_PAGE", "20")),
    }
