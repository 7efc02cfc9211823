"""Reading the articles folder as untrusted input: only regular files inside it, never through a link.

The articles folder is a git repository many people push to. A symbolic link committed there could point at
`/proc/self/environ` or the session secret, a directory could carry a `.md` name, a file could be unreadable,
huge or a FIFO that never answers. Every such entry is refused as one `Problem` naming it, and every other file
is still read.

How: the folder is walked without following links; each candidate must resolve inside the folder, is opened
with `O_NOFOLLOW` (a link swapped in after the walk fails to open) and `O_NONBLOCK` (a FIFO does not hang the
open), and is read only when `fstat` says it is a regular file of at most `MAX_FILE_BYTES`.

    >>> for path, content in walk_files(Path("articles/nl"), keep=lambda rel: rel.name == "suiker-voedt-kanker.md"):
    ...     print(path, "refused" if isinstance(content, Problem) else "read")
    articles/nl/suiker-voedt-kanker.md read
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from kb.errors import Problem

#: Larger than any article or template needs (the biggest sample article is under 8 KiB); a bound on memory.
MAX_FILE_BYTES = 1024 * 1024

#: An entry of a walk: its display path, and its bytes or the reason it was refused.
FileEntry = tuple[str, "bytes | Problem"]

_LINK = "is a symbolic link: refused (only regular files inside the articles folder are read)"


def read_inside(path: Path, root: Path, *, shown: str | None = None, max_bytes: int = MAX_FILE_BYTES
                ) -> bytes | Problem:
    """The bytes of `path` if it is a regular file inside `root` reached without any link; else a Problem.

        >>> read_inside(Path("articles/nl/suiker-voedt-kanker.md"), Path("articles"))[:27]
        b'---\\nid: suiker-voedt-kanker'
        >>> print(read_inside(Path("/etc/passwd"), Path("articles")))
        /etc/passwd:1: resolves outside the articles folder: refused
    """
    shown = shown or str(path)

    def refused(reason: str) -> Problem:
        return Problem(shown, 1, reason)

    try:
        if path.is_symlink():
            return refused(_LINK)
        if not path.resolve().is_relative_to(root.resolve()):
            return refused("resolves outside the articles folder: refused")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            return refused(_LINK)
        return refused(f"cannot read: {e.strerror or e}")
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return refused("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            return refused("is not a regular file (a device, socket or pipe): refused")
        if info.st_size > max_bytes:
            return refused(f"is {info.st_size} bytes, over the limit of {max_bytes}")
        chunks, size = [], 0
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # grew while being read
                return refused(f"is over the limit of {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as e:
        return refused(f"cannot read: {e.strerror or e}")
    finally:
        os.close(fd)


def walk_files(root: Path, keep: Callable[[Path], bool]) -> Iterator[FileEntry]:
    """(display path, bytes or Problem) for every entry below `root` whose relative path `keep` accepts, in a
    stable order, read one at a time. Only real folders are entered: a link to a folder is reported (when an
    article could be under it) and not followed; a folder that cannot be listed is reported too."""
    entries: list[tuple[str, Path | Problem]] = []

    def unlistable(error: OSError) -> None:
        where = Path(error.filename or root)
        if where == root or keep(where.relative_to(root) / "x.md"):
            entries.append((str(where), Problem(str(where), 1, f"cannot list folder: {error.strerror or error}")))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlistable):
        here = Path(dirpath)
        for name in list(dirnames):
            full = here / name
            relative = full.relative_to(root)
            if full.is_symlink():
                dirnames.remove(name)  # os.walk does not enter it either; this makes that explicit
                if keep(relative) or keep(relative / "x.md"):
                    entries.append((str(full), Problem(str(full), 1, _LINK)))
            elif keep(relative):  # a real folder with an article's name
                entries.append((str(full), Problem(str(full), 1, "is a folder, not a file")))
        entries += [(str(here / name), here / name) for name in filenames if keep((here / name).relative_to(root))]
    entries.sort(key=lambda entry: entry[0])
    for shown, entry in entries:
        yield shown, entry if isinstance(entry, Problem) else read_inside(entry, root, shown=shown)
