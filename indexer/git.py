"""What git knows about `articles/`: the commit, whether the tree is dirty, files at a revision, changes since.

Reads only; never touches the work tree or the index (`git cat-file` reads objects directly).

    >>> GitRepo.find(Path("articles")).head()  # doctest: +SKIP
    Revision(commit='3f2c1e0…', dirty=False)
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.corpus import is_article_path
from kb.errors import InvalidInput, Problem
from kb.files import MAX_FILE_BYTES, FileEntry

#: git's file modes: regular files (plain and executable) and symbolic links.
_REGULAR = ("100644", "100755")
_LINK = "120000"


@dataclass(frozen=True)
class Revision:
    commit: str | None
    dirty: bool


class GitRepo:
    def __init__(self, top: Path) -> None:
        self.top = top

    @classmethod
    def find(cls, path: Path) -> GitRepo | None:
        """The repository containing `path`, or None when it is not in one (or git is missing)."""
        try:
            out = subprocess.run(["git", "-C", str(path if path.is_dir() else path.parent), "rev-parse",
                                  "--show-toplevel"], capture_output=True, text=True, check=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return cls(Path(out.stdout.strip()))

    def _git(self, *args: str, binary: bool = False, stdin: bytes | None = None) -> bytes:
        try:
            out = subprocess.run(["git", "-C", str(self.top), *args], capture_output=True, check=True, timeout=60,
                                 input=stdin)
        except subprocess.CalledProcessError as e:
            raise InvalidInput(f"git {' '.join(args)}: {e.stderr.decode(errors='replace').strip()}") from e
        return out.stdout

    def relative(self, path: Path) -> str:
        return str(path.resolve().relative_to(self.top.resolve()))

    def head(self, path: Path) -> Revision:
        """HEAD's commit and whether files under `path` differ from it (untracked articles included)."""
        try:
            commit = self._git("rev-parse", "HEAD").decode().strip()
        except InvalidInput:  # a repository with no commits yet
            return Revision(None, True)
        status = self._git("status", "--porcelain", "--untracked-files=all", "--", self.relative(path))
        return Revision(commit, bool(status.strip()))

    def resolve(self, rev: str) -> str:
        return self._git("rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()

    def files_at(self, rev: str, path: Path) -> Iterator[FileEntry]:
        """(path as in the work tree, bytes) of every article file under `path` at `rev`; a symbolic link
        committed with an article's name comes as a Problem (it is never followed, as in the work tree)."""
        sub = self.relative(path)
        keep = lambda name: is_article_path(Path(name).relative_to(sub))  # noqa: E731
        refused = [Problem(name, 1, "is a symbolic link: refused (only regular files inside the articles folder "
                                    "are read)") for name, mode, _, _ in self._blobs(rev, path, keep) if mode == _LINK]
        refused += [Problem(name, 1, f"is {size} bytes, over the limit of {MAX_FILE_BYTES}")
                    for name, mode, _, size in self._blobs(rev, path, keep)
                    if mode in _REGULAR and size > MAX_FILE_BYTES]
        entries: list[FileEntry] = [(p.path, p) for p in refused]
        entries += list(self.tree_at(rev, path, keep=keep))
        yield from sorted(entries, key=lambda entry: entry[0])

    def _blobs(self, rev: str, path: Path, keep: Callable[[str], bool]) -> list[tuple[str, str, str, int]]:
        """(name, mode, object id, size) of every blob under `path` at `rev` that `keep` accepts, by name."""
        commit = self.resolve(rev)
        sub = self.relative(path)
        listing = self._git("ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", sub).split(b"\0")
        blobs: list[tuple[str, str, str, int]] = []
        for entry in filter(None, listing):
            info, name = entry.decode(errors="replace").split("\t", 1)
            mode, kind, sha, size = info.split()
            if kind == "blob" and keep(name):
                blobs.append((name, mode, sha, int(size)))
        return sorted(blobs)

    def tree_at(self, rev: str, path: Path, keep: Callable[[str], bool] = lambda _: True
                ) -> Iterator[tuple[str, bytes]]:
        """(path as in the work tree, bytes) of every regular file under `path` at `rev` that `keep` accepts
        (symbolic links are left out: their content is a path, never a file's)."""
        blobs = [(name, sha) for name, mode, sha, size in self._blobs(rev, path, keep)
                 if mode in _REGULAR and size <= MAX_FILE_BYTES]
        if not blobs:
            return
        data = self._git("cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha in blobs).encode())
        pos = 0
        for name, _ in blobs:
            header_end = data.index(b"\n", pos)
            size = int(data[pos:header_end].split()[2])
            yield name, data[header_end + 1:header_end + 1 + size]
            pos = header_end + 1 + size + 1

    def changed_since(self, commit: str, path: Path) -> list[str]:
        """Article files under `path` that differ between `commit` and the work tree (untracked included)."""
        sub = self.relative(path)
        diff = self._git("diff", "--name-only", commit, "--", sub).decode().split("\n")
        untracked = self._git("ls-files", "--others", "--exclude-standard", "--", sub).decode().split("\n")
        return sorted({p for p in [*diff, *untracked] if p and is_article_path(Path(p).relative_to(sub))})
