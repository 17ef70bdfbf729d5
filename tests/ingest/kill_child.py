"""The process `test_kill.py` kills: runs the shipped Chicago configuration against a test server, to its end."""

from __future__ import annotations

import dataclasses
import sys

from ingest.jobs import run_source
from ingest.sources import find_source, load_sources
from portal.config import default_settings
from portal.database import make_engine, make_session_factory


def main() -> None:
    database_url, url, page_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = find_source(load_sources(default_settings("instance")["SOURCES_FILE"]), "City of Chicago: Contracts")
    config = dataclasses.replace(config, url=url, allow_private=True, rate_limit=0, page_size=page_size)
    result = run_source(make_session_factory(make_engine(database_url)), config)
    print(result.status, result.fetched, flush=True)


if __name__ == "__main__":
    main()
