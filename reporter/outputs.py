"""Write output files atomically, and never replace a file unless asked to.

The content goes to a temporary file in the destination's folder, is flushed to
disk, and is then renamed over the destination: a reader sees the old file or the
new one, never half of one, and an interrupted write leaves no partial file.

A write killed outright (``kill -9``, a power cut) leaves its temporary file,
``.NAME.XXXXXXXX.tmp``, behind. Each writer holds a lock on its temporary file
while it writes, so the next write to the same destination (or
:func:`clean_stale_temporaries`) can tell the temporaries nobody is writing any
more from those in use, and removes only the former.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import OutputError, OutputExists

try:
    import fcntl
except ImportError:  # Windows: no locks, so no cleaning (an open file cannot be removed there)
    fcntl = None  # type: ignore[assignment]

__all__ = ["atomic_write", "clean_stale_temporaries", "open_atomic", "replace_contents"]

# What tempfile.mkstemp puts between our prefix and suffix: 8 of these characters.
_RANDOM = "[a-z0-9_]{8}"


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], *, overwrite: bool = False,
                binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing; the file appears only when the block succeeds.

    Temporary files an earlier, killed write to ``path`` left are removed first.

    Raises
    ------
    OutputExists
        When ``path`` exists and ``overwrite`` is false.
    OutputError
        When the folder does not exist or cannot be written.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputError(f"{path} is a directory; give a file name to write")
    if os.path.lexists(path) and not overwrite:
        raise OutputExists(path)
    with _temporary(path) as (stream, temporary):
        stream = stream if binary else _text(stream)
        yield stream
        stream.flush()
        os.fsync(stream.fileno())
        # mkstemp creates files readable by the owner only; outputs are ordinary files.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO], None], *,
                 overwrite: bool = False, binary: bool = False) -> None:
    """Call ``write(stream)`` on a temporary file and move it to ``path`` when it succeeds."""
    with open_atomic(path, overwrite=overwrite, binary=binary) as stream:
        write(stream)


def replace_contents(path: str | os.PathLike[str], data: bytes) -> str:
    """Replace the content of the existing file ``path`` with ``data``, atomically.

    A symbolic link is followed: its target gets the new content and the link
    stays a link. The target keeps its permissions, and its owner and group where
    the user may set them. Returns the path of the file written (the target).

    Raises
    ------
    OutputError
        When ``path`` does not exist or its folder cannot be written.
    """
    target = os.path.realpath(path)
    try:
        before = os.stat(target)
    except OSError as exc:
        raise OutputError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(before.st_mode):
        raise OutputError(f"cannot write {os.fspath(path)}: not a regular file")
    with _temporary(target) as (stream, temporary):
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
        with contextlib.suppress(OSError):  # another user's file: keep what we may
            os.chown(temporary, before.st_uid, before.st_gid)
        os.chmod(temporary, stat.S_IMODE(before.st_mode))
        os.replace(temporary, target)
    return target


@contextlib.contextmanager
def _temporary(path: str) -> Iterator[tuple[IO[bytes], str]]:
    """A locked temporary file beside ``path`` (binary), removed unless renamed away.

    The lock is held until the block ends, after the rename: a cleaner can never
    take a temporary that is still being written or about to be renamed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
    clean_stale_temporaries(folder, [os.path.basename(path)])
    try:
        handle, temporary = _locked_mkstemp(folder, os.path.basename(path))
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream, temporary
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):  # a full disk, a folder made read-only meanwhile
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _locked_mkstemp(folder: str, name: str) -> tuple[int, str]:
    """mkstemp, then an exclusive lock on the new file.

    Between the two a cleaner may have taken the unlocked file and removed it: the
    lock is then on a file without a name, so we check the name still leads to our
    file, and try again with a new one when it does not.
    """
    while True:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        if fcntl is None:
            return handle, temporary
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)  # waits only while a cleaner holds it
            ours = os.fstat(handle)
            named = os.lstat(temporary)
        except FileNotFoundError:
            os.close(handle)
            continue
        except OSError:  # a file system without locks: write unlocked, nobody can clean it
            return handle, temporary
        if (named.st_dev, named.st_ino) == (ours.st_dev, ours.st_ino):
            return handle, temporary
        os.close(handle)


def clean_stale_temporaries(folder: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Remove the temporary files killed writes of ``names`` left in ``folder``.

    Only files of this module's own pattern (``.NAME.XXXXXXXX.tmp``) for these
    names are considered, only the user's own regular files, and only those no
    process holds the lock of (a write still under way keeps its file). Returns
    the files removed. Never raises: a file that cannot be checked is left alone.
    """
    if fcntl is None:
        return []
    folder = Path(folder)
    patterns = [re.compile(rf"\.{re.escape(name)}\.{_RANDOM}\.tmp") for name in names]
    if not patterns:
        return []
    try:
        candidates = [entry for entry in os.scandir(folder)
                      if any(pattern.fullmatch(entry.name) for pattern in patterns)]
    except OSError:
        return []
    removed = []
    for entry in candidates:
        if _remove_if_stale(entry.path):
            removed.append(folder / entry.name)
    return removed


def _remove_if_stale(path: str) -> bool:
    """Remove ``path`` if it is our user's regular file and its lock is free."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # in use (or no locks here: we cannot tell, so it stays)
            return False
        # Still the file we locked under that name (not one made since)?
        named = os.lstat(path)
        if (named.st_dev, named.st_ino) != (info.st_dev, info.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(handle)


def _text(stream: IO[bytes]) -> IO[str]:
    """The binary temporary as UTF-8 text, with newlines written as given."""
    import io

    return io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
