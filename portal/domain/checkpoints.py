"""Daily checkpoints of the audit chain's head, written outside the database as files the site serves (and lists
in an Atom feed), so that anyone can keep them and later catch a chain cut short or rewritten.

One file a day (UTC), `YYYY-MM-DD.json`, written once and never rewritten: the first writer of the day wins, by
linking the file into place. `portal audit checkpoint` writes it: run it daily from cron, late in the day.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from portal.domain.audit import checkpoint
from portal.models import utcnow

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def checkpoint_files(folder: Path) -> list[str]:
    """The days with a checkpoint, newest first."""
    if not folder.is_dir():
        return []
    days = [path.stem for path in folder.glob("*.json") if DAY.fullmatch(path.stem)]
    return sorted(days, reverse=True)


def read_checkpoint(folder: Path, day: str) -> dict[str, Any]:
    return json.loads((folder / f"{day}.json").read_text(encoding="utf-8"))


def ensure_checkpoint(session: Session, folder: Path) -> Path | None:
    """Write today's checkpoint unless it exists; returns its path when this call wrote it."""
    day = utcnow().strftime("%Y-%m-%d")
    path = folder / f"{day}.json"
    if path.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"day": day, **checkpoint(session)}, indent=2) + "\n"
    # Written beside, then linked into place: a reader never sees half a file, and linking fails if another
    # worker's file got there first (it stays; ours goes).
    temporary = folder / f".{day}.{os.getpid()}.tmp"
    temporary.write_text(text, encoding="utf-8")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return None
    finally:
        temporary.unlink(missing_ok=True)
    return path
