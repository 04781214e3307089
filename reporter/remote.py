"""Read primary headers of remote files (S3, HTTP) without downloading them.

Each file costs one ranged request for its first 64 KiB, which holds a JWST primary
header, and another only when the header is longer. Requests run many at a time
(threads: the work is waiting on the network); transient failures are retried with
backoff; a file that still fails becomes a record with its error, never an
exception. Access goes through fsspec (s3fs for ``s3://``), with the user's
storage options (``anon=True``, an endpoint, credentials) passed through.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .headers import MAX_HEADER_BYTES, HeaderError, header_from_reads, parse_header
from .records import ProvenanceRecord

__all__ = ["FIRST_RANGE", "RemoteFile", "is_url", "list_remote", "read_remote", "scan_remote"]

#: The first (usually only) ranged read of each file.
FIRST_RANGE = 64 * 1024
_MORE_RANGE = 256 * 1024
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
DEFAULT_REMOTE_JOBS = 64
RETRIES = 3
BACKOFF = 0.2  # seconds, doubled after each failed try


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


@dataclass(frozen=True)
class RemoteFile:
    """A remote file to scan; size and ETag when a listing gave them."""

    url: str
    size: int | None = None
    etag: str | None = None


#: Default time limits (seconds) when the storage options set none.
CONNECT_TIMEOUT = 20
READ_TIMEOUT = 60


def filesystem(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of a URL and the path within it (with default timeouts)."""
    import fsspec

    options = dict(options or {})
    protocol = url.split("://", 1)[0].lower()
    if protocol in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs") or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(total=READ_TIMEOUT,
                                                           connect=CONNECT_TIMEOUT))
        options["client_kwargs"] = client
    elif protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", CONNECT_TIMEOUT)
        config.setdefault("read_timeout", READ_TIMEOUT)
        options["config_kwargs"] = config
    return fsspec.core.url_to_fs(url, **options)


def list_remote(url: str, options: Mapping[str, Any] | None = None) -> list[RemoteFile]:
    """The FITS files under an ``s3://bucket/prefix/``, or the file a URL names."""
    from .sources import is_fits_name

    if url.lower().startswith(("http://", "https://")) or is_fits_name(url):
        return [RemoteFile(url)]
    fs, path = filesystem(url, options)
    protocol = url.split("://", 1)[0]
    found = fs.find(path, detail=True)
    return [RemoteFile(f"{protocol}://{name}", info.get("size"),
                       str(info.get("ETag") or info.get("etag") or "").strip('"') or None)
            for name, info in sorted(found.items()) if is_fits_name(name)]


def _classify(exc: BaseException) -> tuple[str, bool]:
    """(error code, worth retrying) for an exception from fsspec."""
    if isinstance(exc, FileNotFoundError):
        return "missing", False
    if isinstance(exc, PermissionError):
        return "permission", False
    text = f"{type(exc).__name__} {exc}".lower()
    if "403" in text or "forbidden" in text or "access denied" in text:
        return "permission", False
    if "404" in text or "not found" in text or "nosuchkey" in text:
        return "missing", False
    if "timeout" in text or isinstance(exc, TimeoutError):
        return "timeout", True
    return "unreadable", True


def read_remote(remote: RemoteFile, fs: Any, path: str, *, retries: int | None = None,
                backoff: float | None = None) -> ProvenanceRecord:
    """One remote file's record: a ranged read (or two), never an exception."""
    retries = retries or RETRIES
    backoff = BACKOFF if backoff is None else backoff
    for attempt in range(retries):
        try:
            values = parse_header(_remote_header(fs, path))
            return ProvenanceRecord.from_header(remote.url, values, remote.size)
        except HeaderError as exc:  # the bytes came, but are not a header
            return ProvenanceRecord.failed(remote.url, exc.code, exc.message, remote.size)
        except Exception as exc:  # noqa: BLE001 - any failure becomes the file's record
            code, transient = _classify(exc)
            if not transient or attempt == retries - 1:
                message = f"{code}: {type(exc).__name__}: {exc}".strip()
                if transient:
                    message += f" (after {retries} tries)"
                return ProvenanceRecord.failed(remote.url, code, message, remote.size)
            time.sleep(backoff * 2 ** attempt)
    raise AssertionError("unreachable")


def _remote_header(fs: Any, path: str) -> bytes:
    first = fs.cat_file(path, start=0, end=FIRST_RANGE)
    if not first:
        raise HeaderError("empty", "empty file (0 bytes)")
    offset = len(first)
    done = len(first) < FIRST_RANGE  # a short answer: that was the whole file

    def more(size: int) -> bytes:
        nonlocal offset, done
        if done or offset >= MAX_HEADER_BYTES + FIRST_RANGE:
            return b""
        chunk = fs.cat_file(path, start=offset, end=offset + max(size, _MORE_RANGE))
        offset += len(chunk)
        done = len(chunk) < max(size, _MORE_RANGE)
        return chunk

    # Later reads are served from one larger ranged request at a time.
    return header_from_reads(first, _Buffered(more).read)


class _Buffered:
    """Serve small reads from larger ranged requests."""

    def __init__(self, fetch: Callable[[int], bytes]):
        self._fetch = fetch
        self._buffer = b""

    def read(self, size: int) -> bytes:
        if not self._buffer:
            self._buffer = self._fetch(size)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk


def scan_remote(files: Sequence[RemoteFile], options: Mapping[str, Any] | None = None, *,
                jobs: int | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[ProvenanceRecord]:
    """Records of remote files, in order, ``jobs`` requests at a time."""
    if not files:
        return
    filesystems: dict[str, tuple[Any, str]] = {}

    def one(remote: RemoteFile) -> ProvenanceRecord:
        try:
            base = remote.url.split("://", 1)[0] + "://" + remote.url.split("://", 1)[1].split("/", 1)[0]
            if base not in filesystems:
                filesystems[base] = filesystem(remote.url, options)
            fs = filesystems[base][0]
            path = fs._strip_protocol(remote.url)
        except Exception as exc:  # noqa: BLE001 - e.g. an unknown protocol
            return ProvenanceRecord.failed(remote.url, "unreadable", f"cannot open: {exc}")
        return read_remote(remote, fs, path)

    with ThreadPoolExecutor(max_workers=jobs or DEFAULT_REMOTE_JOBS) as pool:
        for count, record in enumerate(pool.map(one, files), 1):
            if progress is not None:
                progress(count)
            yield record
