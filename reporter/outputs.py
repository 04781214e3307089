"""Write output files atomically, and never replace a file unless asked to.

The content goes to a temporary file in the destination's folder, is flushed to
disk, and is then renamed over the destination: a reader sees the old file or the
new one, never half of one, and an interrupted write leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from .errors import OutputError, OutputExists

__all__ = ["atomic_write", "open_atomic"]


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str], *, overwrite: bool = False,
                binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing; the file appears only when the block succeeds.

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
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror}") from None
    try:
        mode = "wb" if binary else "w"
        with os.fdopen(handle, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates files readable by the owner only; outputs are ordinary files.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):  # a full disk, a folder made read-only meanwhile
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO], None], *,
                 overwrite: bool = False, binary: bool = False) -> None:
    """Call ``write(stream)`` on a temporary file and move it to ``path`` when it succeeds."""
    with open_atomic(path, overwrite=overwrite, binary=binary) as stream:
        write(stream)
