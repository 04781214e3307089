"""Remote reads against misbehaving servers on loopback: bounded bytes, time and tries.

Every server here is real (sockets on 127.0.0.1) and counts, on its side, the
connections or bytes it served: the assertions bound those counts, never wall time.
A guard thread only keeps a broken build from hanging the suite.
"""

from __future__ import annotations

import io
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from astropy.io import fits
from fitsfiles import fits_bytes, make_primary_header, write

import reporter
from reporter import remote
from reporter.records import ProvenanceRecord

GIB = 1 << 30
_ZEROS = bytes(64 * 1024)
# Far longer than any test needs; only a hang reaches it.
GUARD_SECONDS = 120


def guarded(function, *args, **kwargs):
    """``function(*args, **kwargs)``, failing the test instead of hanging it."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), f"still running after {GUARD_SECONDS} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(remote, "BACKOFF", 0.01)


class FileServer:
    """HTTP files from memory, counting requests and body bytes written per path.

    ``ignore_range``: answer every GET with 200 and the whole body, as some servers
    do; ``delay``: seconds before each answer. A file's body may be far larger than what is stored: ``size`` bytes are
    sent, the stored bytes first and zeros after, made as they are written.
    """

    def __init__(self, ignore_range: bool = False, delay: float = 0.0):
        self.files: dict[str, tuple[bytes, int]] = {}
        self.requests: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.lock = threading.Condition()
        self.answering = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path
                with server.lock:
                    server.requests[path] = server.requests.get(path, 0) + 1
                    server.answering += 1
                try:
                    self._answer(path)
                finally:
                    with server.lock:
                        server.answering -= 1
                        server.lock.notify_all()

            def _answer(self, path):
                time.sleep(delay)
                if path not in server.files:
                    return self.send_error(404)
                data, size = server.files[path]
                start, end = 0, size - 1
                spec = self.headers.get("Range", "")
                ranged = spec.startswith("bytes=") and not ignore_range
                if ranged:
                    first, _, last = spec[6:].partition("-")
                    start, end = int(first), min(int(last or size - 1), size - 1)
                    if start >= size:
                        return self.send_error(416)
                self.send_response(206 if ranged else 200)
                if ranged:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.send_header("Content-Length", str(end + 1 - start))
                self.end_headers()
                written = 0
                try:
                    for chunk in _body(data, start, end + 1):
                        self.wfile.write(chunk)
                        written += len(chunk)
                except OSError:
                    pass  # the client stopped reading: that is the point
                finally:
                    with server.lock:
                        server.sent[path] = server.sent.get(path, 0) + written

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def settled(self) -> FileServer:
        """Wait until every answer begun is over (the client may hang up before the
        server has noticed); then the counts are final."""
        with self.lock:
            assert self.lock.wait_for(lambda: self.answering == 0, GUARD_SECONDS)
        return self

    def add(self, path: str, data: bytes, size: int | None = None) -> str:
        self.files[path] = (data, len(data) if size is None else size)
        return self.url + path

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _body(data: bytes, start: int, stop: int):
    """Bytes ``start:stop`` of ``data`` followed by zeros, in 64 KiB pieces, made lazily."""
    position = start
    while position < stop:
        if position < len(data):
            piece = data[position:min(stop, position + len(_ZEROS))]
        else:
            piece = _ZEROS[:stop - position]
        yield piece
        position += len(piece)


class SocketServer:
    """A TCP server that does ``behaviour(connection)`` with each one it accepts, and
    counts them: the connection attempts the client made."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            threading.Thread(target=self.behaviour, args=(self, connection), daemon=True).start()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.socket.close()


def never_answer(server: SocketServer, connection: socket.socket) -> None:
    server.held.append(connection)  # open, silent, until the test ends


def hang_up(server: SocketServer, connection: socket.socket) -> None:
    connection.close()


def drip(server: SocketServer, connection: socket.socket) -> None:
    """Answer, but one byte at a time: each read is quick, the whole never ends."""
    try:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while not server.stopping.wait(0.05):
            connection.sendall(b"S")
    except OSError:
        pass
    finally:
        connection.close()


@pytest.fixture
def servers():
    started = []

    def start(kind, *args):
        server = kind(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def long_header_file() -> bytes:
    """A FITS file whose primary header (~96 KiB) is longer than the first range."""
    header = fits.Header()
    header["CAL_VER"] = "1.14.0"
    for number in range(1200):
        header.add_comment(f"card {number}")
    header["CRDS_CTX"] = "jwst_1241.pmap"
    header["R_DARK"] = "crds://jwst_nircam_dark_0342.fits"
    buffer = io.BytesIO()
    fits.PrimaryHDU(header=header).writeto(buffer)
    return buffer.getvalue()


# Bounded reads ------------------------------------------------------------------------

def test_a_server_that_ignores_range_is_read_only_as_far_as_the_header(servers):
    http = servers(FileServer, True)
    warm = http.add("/warm_cal.fits", fits_bytes())
    guarded(reporter.scan, [warm], jobs=1)  # imports and the HTTP session, outside the count
    urls = [http.add(f"/big{n}_cal.fits", fits_bytes(CAL_VER=f"1.1{n}.0"), size=GIB)
            for n in range(3)]
    tracemalloc.start()
    try:
        inventory = guarded(reporter.scan, urls, jobs=1, remote_jobs=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.cal_ver for r in inventory] == ["1.10.0", "1.11.0", "1.12.0"]
    assert not inventory.failed
    # Three 1 GiB answers cost this process well under a MiB (was twice their size)...
    assert peak < 2 * 1024 * 1024, peak
    # ... and each got one request, cut short: what the server wrote is what the
    # sockets' buffers took before the client closed, not the gigabyte.
    http.settled()
    for url in urls:
        path = url[len(http.url):]
        assert http.requests[path] == 1
        assert http.sent[path] < 64 * 1024 * 1024


def test_a_long_header_from_a_server_that_ignores_range_is_read_right(servers):
    http = servers(FileServer, True)
    url = http.add("/long_cal.fits", long_header_file(), size=GIB)
    [record] = guarded(reporter.scan, [url], jobs=1).records
    # The second read starts at 64 KiB: the whole-file answer is skipped to there.
    assert record.ok and record.crds_ctx == "jwst_1241.pmap"
    assert record.reference_files.to_dict() == {"R_DARK": "crds://jwst_nircam_dark_0342.fits"}
    assert http.settled().requests["/long_cal.fits"] == 2
    assert http.sent["/long_cal.fits"] < 2 * 64 * 1024 * 1024


def test_the_same_long_header_from_a_server_that_honours_range(servers):
    http = servers(FileServer, False)
    data = long_header_file()
    url = http.add("/long_cal.fits", data)
    [record] = guarded(reporter.scan, [url], jobs=1).records
    assert record.ok and record.crds_ctx == "jwst_1241.pmap"
    # Two ranged answers of at most what was asked: 64 KiB, then 256 KiB.
    assert http.settled().requests["/long_cal.fits"] == 2
    assert http.sent["/long_cal.fits"] <= min(len(data), (64 + 256) * 1024)


def test_an_s3_endpoint_that_ignores_range_is_read_only_as_far_as_the_header(servers):
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    endpoint = servers(FileServer, True)
    endpoint.add("/bucket/big_cal.fits", fits_bytes(CAL_VER="1.13.4"), size=GIB)
    options = {"anon": True, "client_kwargs": {"endpoint_url": endpoint.url,
                                               "region_name": "us-east-1"}}
    [record] = guarded(reporter.scan, ["s3://bucket/big_cal.fits"], storage_options=options,
                       jobs=1).records
    assert record.ok and record.cal_ver == "1.13.4"
    assert endpoint.settled().requests["/bucket/big_cal.fits"] == 1
    assert endpoint.sent["/bucket/big_cal.fits"] < 64 * 1024 * 1024


def test_a_range_past_the_end_is_the_end_of_the_file(servers):
    http = servers(FileServer)
    # Exactly the first range long, and no END card in it: the second read asks for
    # bytes past the end, and the 416 answer says the file ended there.
    data = b"SIMPLE  =                    T".ljust(80) + b" " * (64 * 1024 - 80)
    [record] = guarded(reporter.scan, [http.add("/short_cal.fits", data)], jobs=1).records
    assert record.error_code == "truncated"
    assert http.requests["/short_cal.fits"] == 2  # not retried: it is an answer


# Time limits and the circuit breaker ----------------------------------------------------

@pytest.mark.parametrize("behaviour", [never_answer, hang_up], ids=["silent", "hangs-up"])
def test_a_failing_host_costs_a_bounded_number_of_connections(servers, behaviour):
    bad = servers(SocketServer, behaviour)
    good = servers(FileServer)
    jobs = 4
    urls = [f"{bad.url}/f{n}_cal.fits" for n in range(40)]
    urls.insert(20, good.add("/good_cal.fits", fits_bytes(CAL_VER="1.15.1")))
    records = guarded(reporter.scan, urls, jobs=1, remote_jobs=jobs, read_timeout=0.5).records
    good_record = records.pop(20)
    assert good_record.ok and good_record.cal_ver == "1.15.1"
    codes = [r.error_code for r in records]
    expected = "timeout" if behaviour is never_answer else "unreadable"
    assert set(codes) <= {expected, "host-unavailable"}
    # The breaker opens after BREAKER_FAILURES failures in a row; only the requests
    # already under way then are made too. Without it: 40 files x 3 tries. (aiohttp
    # itself tries a dropped GET once more on a new connection.)
    per_request = 1 if behaviour is never_answer else 2
    assert bad.accepted <= per_request * (remote.BREAKER_FAILURES + jobs)
    assert codes.count("host-unavailable") >= len(urls) - 1 - remote.BREAKER_FAILURES - jobs
    stopped = next(r for r in records if r.error_code == "host-unavailable")
    assert stopped.error.startswith("host-unavailable: not tried: http://127.0.0.1:")
    assert f"failed {remote.BREAKER_FAILURES} requests in a row" in stopped.error


def test_a_host_that_answers_resets_the_breaker(servers):
    # Missing files are answers: however many, they never open the breaker.
    good = servers(FileServer)
    urls = [f"{good.url}/missing{n}_cal.fits" for n in range(2 * remote.BREAKER_FAILURES)]
    urls.append(good.add("/good_cal.fits", fits_bytes()))
    records = guarded(reporter.scan, urls, jobs=1, remote_jobs=2).records
    assert [r.error_code for r in records] == ["missing"] * (len(urls) - 1) + [None]


def test_the_breaker_can_be_turned_off(servers):
    bad = servers(SocketServer, hang_up)
    urls = [f"{bad.url}/f{n}_cal.fits" for n in range(6)]
    records = guarded(lambda: list(remote.scan_remote([remote.RemoteFile(u) for u in urls],
                                                      jobs=2, breaker=0)))
    assert [r.error_code for r in records] == ["unreadable"] * 6
    assert all("after 3 tries" in r.error for r in records)
    # Every try made (aiohttp's own second connection for a dropped GET aside).
    assert 6 * remote.RETRIES <= bad.accepted <= 2 * 6 * remote.RETRIES


def test_an_answer_that_trickles_in_is_cut_by_the_read_timeout(servers):
    slow = servers(SocketServer, drip)
    [record] = guarded(reporter.scan, [f"{slow.url}/slow_cal.fits"], jobs=1,
                       read_timeout=0.5).records
    # Every byte came quickly; the request as a whole did not.
    assert record.error_code == "timeout"
    assert f"after {remote.RETRIES} tries" in record.error
    assert slow.accepted == remote.RETRIES


def test_a_slow_answer_within_the_read_timeout_is_read(servers):
    http = servers(FileServer, False, 0.3)
    url = http.add("/good_cal.fits", fits_bytes())
    [record] = guarded(reporter.scan, [url], jobs=1, read_timeout=20).records
    assert record.ok and http.requests["/good_cal.fits"] == 1


def test_the_scan_timeout_ends_the_remote_reads_and_keeps_the_good_records(servers):
    bad = servers(SocketServer, never_answer)
    good = servers(FileServer)
    urls = [f"{bad.url}/f{n}_cal.fits" for n in range(100)]
    urls.append(good.add("/good_cal.fits", fits_bytes(CAL_VER="1.15.1")))
    # Requests could each wait a minute; the scan has two seconds in all.
    inventory = guarded(reporter.scan, urls, jobs=1, remote_jobs=8, timeout=2,
                        read_timeout=60)
    records = inventory.records
    assert len(records) == 101
    assert records[-1].ok and records[-1].cal_ver == "1.15.1"  # started in turn, not last
    codes = {r.error_code for r in records[:-1]}
    assert codes <= {"timeout", "host-unavailable"} and "timeout" in codes
    not_started = [r for r in records[:-1] if "the scan's time limit ran out" in r.error]
    assert len(not_started) >= 100 - 8
    # Those under way when time ran out were cut then, not retried.
    assert bad.accepted <= 8


def test_the_scan_timeout_leaves_local_files_alone(servers, tmp_path):
    bad = servers(SocketServer, never_answer)
    local = write(tmp_path / "a_cal.fits", fits_bytes(CAL_VER="1.14.0"))
    inventory = guarded(reporter.scan, [local, f"{bad.url}/x_cal.fits"], jobs=1, timeout=0.3)
    assert [r.error_code for r in inventory] == [None, "timeout"]


@pytest.mark.parametrize("command", ["scan", "check"])
def test_timeout_on_the_command_line_bounds_the_scan(servers, tmp_path, command):
    """--timeout reaches the scan of every command that scans; exit 1 (some unreadable)."""
    from typer.testing import CliRunner

    from reporter.cli import app

    bad = servers(SocketServer, never_answer)
    good = servers(FileServer)
    urls = [f"{bad.url}/f{n}_cal.fits" for n in range(20)]
    urls.append(good.add("/good_cal.fits", fits_bytes(CAL_VER="1.15.1")))
    manifest = tmp_path / "urls.txt"
    manifest.write_text("\n".join(urls) + "\n")
    out = tmp_path / "inventory.json"
    args = {"scan": [command, f"@{manifest}", "--timeout", "1", "--no-cache", "-o", str(out)],
            "check": [command, f"@{manifest}", "--timeout", "1"]}[command]
    result = guarded(CliRunner().invoke, app, args)
    assert result.exit_code == 1, result.output
    if command == "scan":
        import json
        records = json.loads(out.read_text())["records"]
        assert sum(r.get("error_code") in ("timeout", "host-unavailable")
                   for r in records) == 20
        assert [r["keywords"]["CAL_VER"] for r in records
                if not r.get("error_code")] == ["1.15.1"]


def test_files_not_read_for_time_or_host_are_not_cached(servers, tmp_path):
    from reporter.cache import ScanCache

    bad = servers(SocketServer, hang_up)
    good = servers(FileServer)
    files = [remote.RemoteFile(f"{bad.url}/f{n}_cal.fits", size=100)
             for n in range(remote.BREAKER_FAILURES + 4)]
    files.append(remote.RemoteFile(good.add("/good_cal.fits", fits_bytes()), size=100))
    from reporter.scanner import _scan_cached

    def twice():  # in one thread: a SQLite connection stays in its own
        cache = ScanCache(tmp_path / "cache.sqlite")
        first = _scan_cached(files, cache, 1, None, None, 2)
        again = _scan_cached(files, cache, 1, None, None, 2)
        return first, again, cache.hits

    first, again, hits = guarded(twice)
    assert "host-unavailable" in {r.error_code for r in first}
    assert hits == 1  # only the good file came back from the cache
    assert again[-1].ok


# Typed sharing of values across worker processes -----------------------------------

def test_values_that_differ_only_in_type_keep_their_type_across_workers(tmp_path, monkeypatch):
    from reporter import scanner

    # One file a chunk, and workers for any number of files: with two jobs, the odd
    # chunks come from the worker, and their values go through the interner.
    monkeypatch.setattr(scanner, "_PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(scanner, "_CHUNK", 1)
    values = ["crds://a.fits", 1, "crds://a.fits", True, "crds://a.fits", 1.0,
              "crds://a.fits", 0.0, "crds://a.fits", -0.0, "crds://a.fits", "T"]
    paths = []
    for number, value in enumerate(values):
        # Written here, not by fits_bytes (its cache takes True for 1); a keyword of
        # its own gives each file its own layout, so that only the sharing of values
        # between records is under test here.
        header = make_primary_header(R_DARK=value, S_DARK=value)
        header[f"LAYOUT{number:02d}"] = number
        paths.append(str(tmp_path / f"f{number:02d}_cal.fits"))
        fits.PrimaryHDU(header=header).writeto(paths[-1])
    records = scanner.scan_files(paths, jobs=2)
    for record, value in zip(records, values):
        for mapping in (record.reference_files, record.step_status):
            got = next(iter(mapping.values()))
            assert type(got) is type(value) and repr(got) == repr(value), (record.path, got)


def test_the_interner_still_shares_equal_values_of_one_type():
    from reporter.records import KeywordMap
    from reporter.scanner import _Interner

    def record(number, value):
        return ProvenanceRecord.build(f"f{number}", KeywordMap(), KeywordMap(("R_DARK",), (value,)),
                                      KeywordMap(("S_DARK",), ("COMPLETE",)))

    interner = _Interner()
    first = interner.chunk([record(0, "crds://a.fits"), record(1, 1)])
    second = interner.chunk([record(2, "crds://a.fits"[:]), record(3, True), record(4, 1)])
    assert second[0].reference_files.values_tuple is first[0].reference_files.values_tuple
    assert second[2].reference_files.values_tuple is first[1].reference_files.values_tuple
    assert second[1].reference_files["R_DARK"] is True
    assert second[0].step_status.values_tuple is first[0].step_status.values_tuple


def test_a_map_refuses_to_share_values_of_another_type():
    from reporter.records import KeywordMap

    mapping = KeywordMap(("R_DARK",), (True,))
    with pytest.raises(ValueError, match="same types"):
        mapping.share_values((1,))
    mapping.share_values((True,))
    assert mapping["R_DARK"] is True


def test_no_time_left_is_a_timeout_not_no_limit(servers):
    """A limit of 0 s (fsspec and aiohttp read 0 as "no limit") ends the read at once."""
    bad = servers(SocketServer, never_answer)
    inventory = guarded(reporter.scan, [f"{bad.url}/x_cal.fits"], jobs=1, read_timeout=0)
    assert [r.error_code for r in inventory] == ["timeout"]
    assert bad.accepted == 0  # nothing was sent: no time to wait for an answer


def test_diff_passes_its_timeout_to_both_scans(monkeypatch):
    """diff scans through diff.load_side: --timeout reaches the scan of each side."""
    from typer.testing import CliRunner

    import reporter.scanner
    from reporter.cli import app
    from reporter.inventory import Inventory

    seen = []

    def scan(paths, **options):
        seen.append(options.get("timeout"))
        return Inventory([])

    monkeypatch.setattr(reporter.scanner, "scan", scan)
    CliRunner().invoke(app, ["diff", "https://a.example/x/", "https://b.example/y/",
                             "--timeout", "7"])
    assert seen == [7.0, 7.0]
