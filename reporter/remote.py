"""Read primary headers of remote files (S3, HTTP) without downloading them.

Each file costs one ranged request for its first 64 KiB, which holds a JWST primary
header, and another only when the header is longer. A request never reads more than
it asked for: the body is streamed and the transfer stopped there, so a server that
ignores ``Range`` and sends the whole file costs no more than one that honours it.
Requests run many at a time (threads: the work is waiting on the network); transient
failures are retried with backoff; a file that still fails becomes a record with its
error, never an exception.

Time is bounded three ways: each request has a time limit (``read_timeout``); the
scan may have one (``timeout``), after which the files not yet read become records
with the code ``timeout``; and a host that fails ``breaker`` requests in a row is not
tried again, its other files becoming records with the code ``host-unavailable``.
Access goes through fsspec (s3fs for ``s3://``), with the user's storage options
(``anon=True``, an endpoint, credentials) passed through.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .headers import MAX_HEADER_BYTES, HeaderError, header_from_reads, parse_header
from .records import ProvenanceRecord

__all__ = ["BREAKER_FAILURES", "FIRST_RANGE", "TRANSIENT_CODES", "RemoteFile", "is_url",
           "list_remote", "read_remote", "scan_remote"]

#: The first (usually only) ranged read of each file.
FIRST_RANGE = 64 * 1024
_MORE_RANGE = 256 * 1024
_SKIP_STEP = 64 * 1024
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
DEFAULT_REMOTE_JOBS = 64
RETRIES = 3
BACKOFF = 0.2  # seconds, doubled after each failed try
#: Failed requests in a row after which a host's remaining files are not tried.
BREAKER_FAILURES = 8
#: Error codes that say nothing about the file itself (a later scan may read it).
TRANSIENT_CODES = frozenset({"missing", "permission", "timeout", "unreadable",
                             "host-unavailable"})


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


def host_of(url: str) -> str:
    """``scheme://netloc`` of a URL: the unit the circuit breaker counts failures in."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


@dataclass(frozen=True)
class RemoteFile:
    """A remote file to scan; size and ETag when a listing gave them."""

    url: str
    size: int | None = None
    etag: str | None = None


#: Default time limits (seconds) when the storage options set none.
CONNECT_TIMEOUT = 20
READ_TIMEOUT = 60


def filesystem(url: str, options: Mapping[str, Any] | None = None, *,
               read_timeout: float | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of a URL and the path within it (with default timeouts:
    ``read_timeout`` a request, default :data:`READ_TIMEOUT`)."""
    import fsspec

    read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    connect = min(CONNECT_TIMEOUT, read_timeout)
    options = dict(options or {})
    protocol = url.split("://", 1)[0].lower()
    if protocol in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs") or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(total=read_timeout, connect=connect))
        options["client_kwargs"] = client
    elif protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", connect)
        config.setdefault("read_timeout", read_timeout)
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


class Deadline:
    """The end of a scan's time (``seconds`` from now; None: no end)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self._at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self._at is None else self._at - time.monotonic()

    def passed(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0


class HostBreaker:
    """Count failed requests per host; after ``threshold`` in a row, stop trying it.

    Any answer from the host (a header, a 404, bytes that are not FITS) resets its
    count; once open, the breaker stays open for the rest of the scan, so a dead
    host costs a bounded number of requests however many files it holds.
    ``threshold`` 0 or None never opens.
    """

    def __init__(self, threshold: int | None = BREAKER_FAILURES):
        self.threshold = threshold or 0
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._last: dict[str, str] = {}

    def answered(self, host: str) -> None:
        with self._lock:
            if not self._open(host):
                self._failures[host] = 0

    def failed(self, host: str, message: str) -> None:
        with self._lock:
            if not self._open(host):
                self._failures[host] = self._failures.get(host, 0) + 1
                self._last[host] = message

    def unavailable(self, host: str) -> str | None:
        """Why the host is not tried any more, or None while it still is."""
        with self._lock:
            if not self._open(host):
                return None
            return (f"host-unavailable: not tried: {host} failed {self.threshold} requests "
                    f"in a row (the last: {self._last[host]})")

    def _open(self, host: str) -> bool:
        return bool(self.threshold) and self._failures.get(host, 0) >= self.threshold


def read_remote(remote: RemoteFile, fs: Any, path: str, *, retries: int | None = None,
                backoff: float | None = None, read_timeout: float | None = None,
                deadline: Deadline | None = None,
                breaker: HostBreaker | None = None) -> ProvenanceRecord:
    """One remote file's record: a ranged read (or two), never an exception.

    ``read_timeout`` bounds each request (default :data:`READ_TIMEOUT` seconds),
    ``deadline`` the whole scan (no request outlives it; none starts after it), and
    ``breaker`` stops the tries of a host that keeps failing.
    """
    retries = retries or RETRIES
    backoff = BACKOFF if backoff is None else backoff
    read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    deadline = deadline or Deadline(None)
    breaker = breaker or HostBreaker(None)
    host = host_of(remote.url)
    for attempt in range(retries):
        stopped = _stopped(host, deadline, breaker)
        if stopped is not None:
            return ProvenanceRecord.failed(remote.url, *stopped, remote.size)
        started = time.monotonic()

        def limit(started: float = started) -> float:
            # Each request of this try gets what is left of the try's time and the scan's.
            left = deadline.remaining()
            spent = time.monotonic() - started
            return read_timeout - spent if left is None else min(read_timeout - spent, left)

        try:
            values = parse_header(_remote_header(fs, path, limit))
        except HeaderError as exc:  # the bytes came, but are not a header
            breaker.answered(host)
            return ProvenanceRecord.failed(remote.url, exc.code, exc.message, remote.size)
        except Exception as exc:  # noqa: BLE001 - any failure becomes the file's record
            code, transient = _classify(exc)
            message = f"{code}: {type(exc).__name__}: {exc}".strip()
            if isinstance(exc, TimeoutError) and not str(exc):  # say which limit
                message = (f"timeout: no whole answer within "
                           f"{time.monotonic() - started:.3g} s")
            if not transient:
                breaker.answered(host)
                return ProvenanceRecord.failed(remote.url, code, message, remote.size)
            breaker.failed(host, message)
            if attempt == retries - 1:
                return ProvenanceRecord.failed(remote.url, code,
                                               f"{message} (after {retries} tries)", remote.size)
            if _stopped(host, deadline, breaker) is not None:
                why = "the scan ran out of time" if deadline.passed() else "host unavailable"
                return ProvenanceRecord.failed(
                    remote.url, code, f"{message} (after {attempt + 1} of {retries} tries: "
                                      f"not retried, {why})", remote.size)
            pause = backoff * 2 ** attempt
            left = deadline.remaining()
            time.sleep(pause if left is None else max(0.0, min(pause, left)))
        else:
            breaker.answered(host)
            return ProvenanceRecord.from_header(remote.url, values, remote.size)
    raise AssertionError("unreachable")


def _stopped(host: str, deadline: Deadline, breaker: HostBreaker) -> tuple[str, str] | None:
    """(code, message) when the file must not be tried (again), else None."""
    if deadline.passed():
        return "timeout", "timeout: not read: the scan's time limit ran out"
    why = breaker.unavailable(host)
    return None if why is None else ("host-unavailable", why)


def _remote_header(fs: Any, path: str,
                   limit: Callable[[], float | None] = lambda: None) -> bytes:
    """The header's bytes, through ranged reads of at most what is needed."""
    read = _range_reader(fs, path, limit)
    first = read(0, FIRST_RANGE)
    if not first:
        raise HeaderError("empty", "empty file (0 bytes)")
    offset = len(first)
    done = len(first) < FIRST_RANGE  # a short answer: that was the whole file

    def more(size: int) -> bytes:
        nonlocal offset, done
        if done or offset >= MAX_HEADER_BYTES + FIRST_RANGE:
            return b""
        wanted = max(size, _MORE_RANGE)
        chunk = read(offset, wanted)
        offset += len(chunk)
        done = len(chunk) < wanted
        return chunk

    # Later reads are served from one larger ranged request at a time.
    return header_from_reads(first, _Buffered(more).read)


def _range_reader(fs: Any, path: str,
                  limit: Callable[[], float | None]) -> Callable[[int, int], bytes]:
    """``read(start, length)``: at most ``length`` bytes from ``start``, each call
    bounded by ``limit()`` seconds (taken as the call starts), whatever the server
    does with the Range header."""
    from fsspec.asyn import sync

    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if protocols & {"http", "https"}:
        stream = _http_range
    elif protocols & {"s3", "s3a"} and hasattr(fs, "_call_s3"):
        stream = _s3_range
    else:  # other filesystems (memory, local, ...): their own ranged read
        return lambda start, length: fs.cat_file(path, start=start, end=start + length)[:length]

    def read(start: int, length: int) -> bytes:
        seconds = limit()
        # fsspec and aiohttp take a timeout of 0 as none at all: no time left is a timeout.
        if seconds is not None and seconds <= 0:
            raise TimeoutError()
        return sync(fs.loop, stream, fs, path, start, length, timeout=seconds)

    return read


async def _http_range(fs: Any, url: str, start: int, length: int) -> bytes:
    """Stream one ranged GET through the filesystem's session; stop after ``length``."""
    session = await fs.set_session()
    options = dict(fs.kwargs)
    headers = dict(options.pop("headers", None) or {})
    headers["Range"] = f"bytes={start}-{start + length - 1}"
    async with session.get(fs.encode_url(url), headers=headers, **options) as response:
        if response.status == 416:  # nothing at or after start: the file ended before
            return b""
        fs._raise_not_found_for_status(response, url)
        skip = _skip(response.status, response.headers.get("Content-Range"), start)
        try:
            return await _read_at_most(response.content.read, skip, length)
        finally:
            if not response.content.at_eof():
                response.close()  # drop the connection: the rest of the body is not wanted


async def _s3_range(fs: Any, path: str, start: int, length: int) -> bytes:
    """One ranged GetObject, its body streamed and closed after ``length`` bytes."""
    bucket, key, version = fs.split_path(path)
    extra = {"VersionId": version} if version else {}
    response = await fs._call_s3("get_object", Bucket=bucket, Key=key,
                                 Range=f"bytes={start}-{start + length - 1}", **extra)
    body = response["Body"]
    try:
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 206)
        skip = _skip(status, response.get("ContentRange"), start)
        return await _read_at_most(body.read, skip, length)
    finally:
        body.close()


def _skip(status: int, content_range: str | None, start: int) -> int:
    """Bytes to pass over before ``start``: all of them when the server ignored Range
    (200: the body is the whole file), none when it honoured it."""
    if status != 206:
        return start
    found = re.match(r"bytes (\d+)-", content_range or "")
    first = int(found.group(1)) if found else start
    if first > start:
        raise OSError(f"asked for bytes from {start}, the server sent them from {first}")
    return start - first


async def _read_at_most(read: Callable[[int], Any], skip: int, length: int) -> bytes:
    """Pass over ``skip`` bytes of a stream, then return up to ``length`` bytes."""
    while skip > 0:
        chunk = await read(min(skip, _SKIP_STEP))
        if not chunk:
            return b""
        skip -= len(chunk)
    parts = []
    got = 0
    while got < length:
        chunk = await read(length - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


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
                progress: Callable[[int], None] | None = None,
                timeout: float | None = None, read_timeout: float | None = None,
                breaker: int | None = None) -> Iterator[ProvenanceRecord]:
    """Records of remote files, in order, ``jobs`` requests at a time.

    Parameters
    ----------
    timeout
        Seconds for the whole scan: files not read by then become records with the
        code ``timeout`` (the records already read are kept). None: no limit.
    read_timeout
        Seconds for each request (default :data:`READ_TIMEOUT`).
    breaker
        Failed requests in a row (timeouts, refused or dropped connections, server
        errors) after which a host's remaining files are not tried: they become
        records with the code ``host-unavailable``. Default :data:`BREAKER_FAILURES`;
        0: always try.

    Files are started in turn across hosts, so that a host that does not answer
    cannot hold every request slot while the files of the others wait.
    """
    if not files:
        return
    filesystems: dict[str, tuple[Any, str]] = {}
    deadline = Deadline(timeout)
    hosts = HostBreaker(BREAKER_FAILURES if breaker is None else breaker)

    def one(remote: RemoteFile) -> ProvenanceRecord:
        try:
            base = host_of(remote.url)
            if base not in filesystems:
                filesystems[base] = filesystem(remote.url, options, read_timeout=read_timeout)
            fs = filesystems[base][0]
            path = fs._strip_protocol(remote.url)
        except Exception as exc:  # noqa: BLE001 - e.g. an unknown protocol
            return ProvenanceRecord.failed(remote.url, "unreadable", f"cannot open: {exc}")
        return read_remote(remote, fs, path, read_timeout=read_timeout, deadline=deadline,
                           breaker=hosts)

    with ThreadPoolExecutor(max_workers=jobs or DEFAULT_REMOTE_JOBS) as pool:
        futures = {index: pool.submit(one, files[index]) for index in _by_turns(files)}
        for index in range(len(files)):
            record = futures.pop(index).result()
            if progress is not None:
                progress(index + 1)
            yield record


def _by_turns(files: Sequence[RemoteFile]) -> list[int]:
    """Indices of the files, one host after another in turn (each host's in order)."""
    queues: dict[str, list[int]] = {}
    for index, remote in enumerate(files):
        queues.setdefault(host_of(remote.url), []).append(index)
    if len(queues) == 1:
        return list(range(len(files)))
    order: list[int] = []
    for turn in range(max(map(len, queues.values()))):
        order.extend(queue[turn] for queue in queues.values() if turn < len(queue))
    return order
