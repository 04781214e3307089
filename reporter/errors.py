"""The library's exceptions: one family, turned into messages and exit codes by the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sources import Skipped

__all__ = [
    "InventoryError", "NoFilesFound", "OutputError", "OutputExists", "ReporterError", "UsageError",
]


class ReporterError(Exception):
    """Base class of every error the library raises on purpose.

    ``exit_code`` is what the command line exits with: 2 for a request that is
    wrong as given, 3 when the work could not be done.
    """

    exit_code = 3


class UsageError(ReporterError):
    """The request is wrong as given (an unknown format, a bad option value)."""

    exit_code = 2


class NoFilesFound(ReporterError):
    """The inputs named no file to scan."""

    exit_code = 3

    def __init__(self, searched: Sequence[str], skipped: Sequence[Skipped] = ()):
        self.searched = list(searched)
        self.skipped = list(skipped)
        where = ", ".join(self.searched) if self.searched else "(no inputs given)"
        message = f"no FITS files found; looked in: {where}"
        if self.skipped:
            message += (f" ({len(self.skipped)} item(s) skipped: use --verbose to see them;"
                        " files are taken from folders and patterns only when they end in"
                        " .fits, .fit, .fits.gz or .fit.gz)")
        super().__init__(message)


class InventoryError(ReporterError):
    """A saved inventory that cannot be read."""

    exit_code = 2


class OutputError(ReporterError):
    """An output that cannot be written, or would replace a file without --force."""

    exit_code = 3


class OutputExists(UsageError):
    """The output file exists and replacing it was not asked for."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path} exists; pass --force to replace it (it is never replaced silently)")
