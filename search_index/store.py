"""The live index as the web path sees it: one searcher per thread, replaced whenever the index changes.

Searchers are opened afresh when the index has a new generation, never "refreshed": Whoosh's
`Searcher.refresh()` hands its old segment readers to the new reader, and when a commit has merged segments
away it keeps them in the new reader (their files deleted, their documents counted twice) and reuses readers
whose deletions are out of date. Under a server whose threads live long (gunicorn), the first merge broke
every later search until the workers restarted.

The web path never creates an index: while `portal reindex` swaps in a new folder the index is missing for a
moment, which a search waits out (only while a rebuild holds its lock); an index that was never built is
reported at once (`IndexMissing`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from whoosh.index import EmptyIndexError
from whoosh.searching import Searcher

from search_index.indexer import open_index, rebuilding
from search_index.whoosh_internals import installed_problems, report

SWAP_WAIT = 2.0  # seconds a search waits for the index folder to reappear (a rebuild's swap takes far less)


class IndexMissing(Exception):
    """There is no index to search: it has never been built."""


class SearchIndex:
    """An open index with one searcher per thread, reopened when the index has changed.

    A rebuild swaps in a new folder: searchers then start afresh. The arrays built from an index version
    (columns, posting lists) are shared by all threads searching that version.
    """

    def __init__(self, directory: str | Path):
        # At start-up, say in the log if the installed Whoosh is not the one the fast paths were verified with.
        report(installed_problems(), "search through posting blocks and the segment writer fix disabled")
        self.directory = Path(directory)
        self._local = threading.local()
        self._shared: dict[tuple[int, int], dict] = {}
        self._shared_lock = threading.Lock()

    def _folder_id(self) -> int | None:
        try:
            return self.directory.stat().st_ino
        except FileNotFoundError:
            return None

    def _open(self) -> tuple[Searcher, int]:
        deadline = time.monotonic() + SWAP_WAIT
        while True:
            folder = self._folder_id()
            if folder is not None:
                try:
                    searcher = open_index(self.directory, create=False).searcher()
                except (FileNotFoundError, EmptyIndexError):
                    pass  # swapped out between the check and the open, or never written
                else:
                    if self._folder_id() == folder:
                        return searcher, folder
                    searcher.close()
            # Only a rebuild's swap makes the index go missing for a moment; otherwise it was never built.
            if time.monotonic() > deadline or not rebuilding(self.directory):
                raise IndexMissing(f"no search index in {self.directory}: run `portal reindex`")
            time.sleep(0.02)

    def searcher(self) -> Searcher:
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is not None and (local.folder != self._folder_id() or not _up_to_date(searcher)):
            searcher.close()
            searcher = local.searcher = None
        if searcher is None:
            searcher, local.folder = self._open()
            local.searcher = searcher
        version = (local.folder, searcher.reader().generation())
        with self._shared_lock:
            shared = self._shared.get(version)
            if shared is None:
                from search_index.whoosh_internals.postings import PostingCache

                shared = {"columns": {}, "postings": PostingCache()}
                self._shared = {version: shared}  # older versions' arrays go once no searcher uses them
        searcher._portal_shared = shared
        return searcher


def _up_to_date(searcher: Searcher) -> bool:
    try:
        return searcher.up_to_date()
    except (FileNotFoundError, EmptyIndexError):  # the folder is being swapped
        return False
