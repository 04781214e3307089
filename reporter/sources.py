"""Expand what a user names on the command line into the files to scan.

Inputs may be files, directories (searched recursively, following symbolic links
but never around a loop), glob patterns expanded here rather than by the shell
(``'data/**/*_cal.fits'``: quoted, so a large dataset does not hit the shell's
argument limit), and ``@manifest.txt`` files listing one input per line.

Nothing here opens a FITS file. What cannot be scanned becomes a :class:`Problem`
(a missing file, a symbolic-link loop, a FIFO or device with a FITS name: code
``not-regular``) that the scan turns into a record with an error; what is
deliberately left out (a ``README.txt`` in a data folder) becomes a
:class:`Skipped` entry, shown with ``--verbose``.

Names are ``str``: a name whose bytes are not UTF-8 (on the command line, in a
folder, in a manifest) is the ``str`` :func:`os.fsdecode` gives, with surrogate
escapes, and entries, problems and records keep exactly that ``str`` (the reader
opens it as the same bytes).
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from .headers import not_regular_message
from .modes import FITS_EXTENSIONS

__all__ = ["Expansion", "Problem", "Skipped", "expand_inputs", "is_fits_name"]

_GLOB_MAGIC = re.compile(r"[*?[]")
# In a folder listing, in place of a file's identity: not a regular file.
_NOT_REGULAR = -1
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input, or a file found under one, that was deliberately not scanned."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A named input that cannot be scanned: it becomes a record with an error."""

    path: str
    code: str
    message: str


@dataclass
class Expansion:
    """The result of :func:`expand_inputs`."""

    #: What to scan, in order: a path to read, a remote file (reporter.remote.RemoteFile),
    #: or a Problem to record as it is.
    entries: list = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: The inputs as given (manifests expanded), to say where the scan looked.
    searched: list[str] = field(default_factory=list)
    #: Association files (``*_asn.json``) found along the way (read by ``scan --inputs``).
    associations: list[str] = field(default_factory=list)
    #: ECSV products (source catalogs, ``*_cat.ecsv``) found along the way (likewise).
    catalogs: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        """The paths to read."""
        return [entry for entry in self.entries if isinstance(entry, str)]

    @property
    def problems(self) -> list[Problem]:
        """The inputs that cannot be read."""
        return [entry for entry in self.entries if isinstance(entry, Problem)]


def is_fits_name(name: str) -> bool:
    """Whether a file name has a FITS ending (``.fits``, ``.fit``, ``.fits.gz``, ``.fit.gz``)."""
    return name.lower().endswith(FITS_EXTENSIONS)


def expand_inputs(inputs: Iterable[str | os.PathLike[str]],
                  storage_options: dict | None = None) -> Expansion:
    """Expand files, directories, globs and ``@manifest`` files into files to scan.

    Files named explicitly are scanned whatever their name; files found in
    directories or by globs only when they have a FITS ending. Each file appears
    once, in the order the inputs name them (directories sorted by name). URLs
    (``s3://bucket/prefix/``, ``https://.../x.fits``) become
    :class:`reporter.remote.RemoteFile` entries; a prefix is listed with
    ``storage_options``.
    """
    expander = _Expander(storage_options)
    for item in inputs:
        # Bytes names become the str Python uses for file names (surrogate escapes).
        expander.add(os.fsdecode(item), origin=None)
    return expander.result


class _Expander:
    def __init__(self, storage_options: dict | None = None) -> None:
        self.result = Expansion()
        self._storage_options = storage_options
        # Files are told apart by absolute path, so that 'a.fits' and '/data/a.fits'
        # are one file. (Folders are told apart by device and inode.)
        self._seen_files: set[int | str] = set()
        self._cwd = os.getcwd()
        self._seen_dirs: dict[tuple[int, int], str] = {}
        self._manifests: set[str] = set()

    def add(self, item: str, origin: str | None) -> None:
        if item.startswith("@") and len(item) > 1:
            self._add_manifest(item[1:])
            return
        self.result.searched.append(item)
        if _URL.match(item):
            self._add_remote(item)
        elif os.path.isdir(item):
            self._walk(item)
        elif os.path.lexists(item):
            self._add_file(item, explicit=True)
        elif _GLOB_MAGIC.search(item):
            self._add_glob(item)
        else:
            where = f" (listed in {origin})" if origin else ""
            self._problem(item, "missing", f"no such file or directory{where}")

    def _add_remote(self, url: str) -> None:
        from .remote import list_remote

        try:
            files = list_remote(url, self._storage_options)
        except Exception as exc:  # noqa: BLE001 - a listing that fails is the input's record
            code = "missing" if isinstance(exc, FileNotFoundError) else (
                "permission" if isinstance(exc, PermissionError) else "unreadable")
            self._problem(url, code, f"cannot list {url}: {type(exc).__name__}: {exc}")
            return
        if not files:
            self.result.skipped.append(Skipped(url, "no FITS files under this prefix"))
        for remote in files:
            if remote.url not in self._seen_files:
                self._seen_files.add(remote.url)
                self.result.entries.append(remote)

    def _add_manifest(self, manifest: str) -> None:
        key = os.path.abspath(manifest)
        if key in self._manifests:
            self.result.skipped.append(Skipped(manifest, "manifest already read"))
            return
        self._manifests.add(key)
        try:
            with open(manifest, "rb") as stream:
                data = stream.read()
        except FileNotFoundError:
            self._problem(manifest, "missing", "manifest file not found")
            return
        except OSError as exc:
            self._problem(manifest, "unreadable", f"cannot read manifest: {exc}")
            return
        # Each line is a file name: decoded as the system decodes names, so that a
        # name that is not UTF-8 still names its file.
        lines = [os.fsdecode(line) for line in data.removeprefix(b"\xef\xbb\xbf").splitlines()]
        base = os.path.dirname(manifest)
        for line in lines:
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            # Entries are relative to the manifest's folder, so a manifest
            # kept beside its data works from any working directory.
            if not _URL.match(entry) and not os.path.isabs(entry.lstrip("@")):
                entry = _join_relative(base, entry)
            self.add(entry, origin=manifest)

    def _add_glob(self, pattern: str) -> None:
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            self.result.skipped.append(Skipped(pattern, "the pattern matched nothing"))
        for match in matches:
            if os.path.isdir(match):
                self._walk(match)
            else:
                self._add_file(match, explicit=False)

    def _add_file(self, path: str, explicit: bool, identity: int | None = None) -> None:
        if path.lower().endswith("_asn.json"):
            self.result.associations.append(path)
            return
        if path.lower().endswith(".ecsv"):
            self.result.catalogs.append(path)
            return
        if not explicit and not is_fits_name(path):
            self.result.skipped.append(Skipped(path, "not a FITS file name"))
            return
        key = self._key(path, identity)
        if key in self._seen_files:
            return
        self._seen_files.add(key)
        self.result.entries.append(path)

    def _not_regular(self, path: str) -> None:
        """A FIFO, socket or device found in a folder: reading it could block forever."""
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return  # gone since the listing
        if stat.S_ISREG(mode):  # replaced by a file since the listing
            self._add_file(path, explicit=False)
        elif stat.S_ISDIR(mode):
            return
        elif is_fits_name(path):
            self._problem(path, "not-regular", not_regular_message(mode))
        else:
            self.result.skipped.append(Skipped(path, not_regular_message(mode)))

    def _walk(self, top: str) -> None:
        # Iterative depth-first walk; directories are identified by (device, inode)
        # so a symbolic link back to an ancestor is reported, not followed forever.
        stack: list[tuple[str, tuple[tuple[int, int], ...]]] = [(top, ())]
        while stack:
            directory, ancestors = stack.pop()
            try:
                info = os.stat(directory)
            except OSError as exc:
                self._problem(directory, "unreadable", f"cannot open directory: {exc.strerror}")
                continue
            identity = (info.st_dev, info.st_ino)
            if identity in ancestors:
                first = self._seen_dirs.get(identity, "an enclosing folder")
                self._problem(
                    directory, "symlink-loop",
                    f"symbolic link loop: this folder is {first} again; not followed",
                )
                continue
            if identity in self._seen_dirs:
                self.result.skipped.append(
                    Skipped(directory, f"same folder as {self._seen_dirs[identity]}, already scanned")
                )
                continue
            self._seen_dirs[identity] = directory
            files: list[tuple[str, int | None]] = []
            subdirs: list[str] = []
            broken: list[str] = []
            try:
                # Keep names only: DirEntry objects cost ~10x more memory, and a
                # folder may hold 100,000 files.
                with os.scandir(directory) as entries:
                    for entry in entries:
                        try:
                            is_dir = entry.is_dir()
                        except OSError:
                            is_dir = False
                        if is_dir:
                            subdirs.append(entry.name)
                        elif entry.is_symlink():
                            if os.path.exists(entry.path):
                                files.append((entry.name, None))  # stat'ed later
                            else:
                                broken.append(entry.name)
                        elif not entry.is_file():  # a FIFO, socket or device: never opened
                            files.append((entry.name, _NOT_REGULAR))
                        else:
                            # scandir gives the inode for free: no stat per file.
                            files.append((entry.name, _identity(info.st_dev, entry.inode())))
            except OSError as exc:
                self._problem(directory, "permission" if isinstance(exc, PermissionError)
                              else "unreadable", f"cannot list directory: {exc.strerror}")
                continue
            for name in sorted(broken):
                path = os.path.join(directory, name)
                if is_fits_name(name):
                    self._problem(path, "missing", "broken symbolic link")
                else:
                    self.result.skipped.append(Skipped(path, "broken symbolic link"))
            files.sort()
            for name, file_identity in files:
                if file_identity == _NOT_REGULAR:
                    self._not_regular(os.path.join(directory, name))
                    continue
                self._add_file(os.path.join(directory, name), explicit=False,
                               identity=file_identity)
            subdirs = [os.path.join(directory, name) for name in sorted(subdirs)]
            chain = (*ancestors, identity)
            # Reversed so the stack visits subfolders in name order.
            stack.extend((sub, chain) for sub in reversed(subdirs))

    def _key(self, path: str, identity: int | None = None) -> int | str:
        """One key per file: device and inode (links and symlinked folders name
        one file many ways), or the absolute path where the file cannot be stat'ed."""
        if identity is not None:
            return identity
        try:
            info = os.stat(path)
        except OSError:
            return os.path.normpath(os.path.join(self._cwd, path))
        return _identity(info.st_dev, info.st_ino)

    def _problem(self, path: str, code: str, message: str) -> None:
        key = os.path.normpath(os.path.join(self._cwd, path))
        if key in self._seen_files:
            return
        self._seen_files.add(key)
        self.result.entries.append(Problem(path, code, message))


def _identity(device: int, inode: int) -> int:
    # One int rather than a tuple: a third of the memory for 100,000 files.
    return (device << 64) | inode


def _join_relative(base: str, entry: str) -> str:
    if entry.startswith("@"):
        return "@" + os.path.join(base, entry[1:])
    return os.path.join(base, entry)
