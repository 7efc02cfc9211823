"""`run_index`: the indexer's entry point as a library function, for the `kb index` command, the service
(`POST /v1/index`, the editor page), evaluation and tests alike.

    >>> with Engine.open(settings) as engine:  # doctest: +SKIP
    ...     run_index(engine, Path("articles")).as_dict()["embedded"]
    812
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from indexer.build import Indexer, IndexReport
from indexer.git import GitRepo, Revision
from kb.corpus import iter_article_files
from kb.engine import Engine
from kb.errors import InvalidInput
from kb.files import FileEntry


def source_files(path: Path, rev: str | None) -> tuple[Iterable[FileEntry], Revision]:
    """The article files to index and the revision they represent (the work tree, or a git revision)."""
    repo = GitRepo.find(path)
    if rev is not None:
        if repo is None:
            raise InvalidInput(f"--rev needs {path} to be inside a git repository", field="rev")
        return list(repo.files_at(rev, path)), Revision(repo.resolve(rev), False)
    revision = repo.head(path) if repo else Revision(None, True)
    return iter_article_files(path), revision


def run_index(engine: Engine, path: Path, *, rev: str | None = None, full: bool = False,
              progress: Callable[[int, int], None] | None = None) -> IndexReport:
    """Index `path` (or `path` at `rev`) into the engine's store, embedding through the on-disk cache;
    `progress(done, total)` is told how many chunks are embedded."""
    files, revision = source_files(path, rev)
    embedder = engine.cached_embedder()
    try:
        return Indexer(engine.settings, engine.store, embedder, progress=progress).run(files, revision, full=full)
    finally:
        embedder.cache.close()
