"""Remote files through real servers on loopback: HTTP with Range support, and S3 (moto)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fitsfiles import fits_bytes, write

import reporter
import reporter.remote as remote

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def same_values(a, b):
    return (a.keywords.to_dict(), a.reference_files.to_dict(), a.step_status.to_dict(),
            a.instrument, a.mode, a.suffix) == \
           (b.keywords.to_dict(), b.reference_files.to_dict(), b.step_status.to_dict(),
            b.instrument, b.mode, b.suffix)


class Server:
    """A static file server with Range support that counts, per path, requests and bytes."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.requests[path] = server.requests.get(path, 0) + 1
                if path.startswith("/missing"):
                    return self.send_error(404)
                if path.startswith("/forbidden"):
                    return self.send_error(403)
                if path.startswith("/slow"):
                    time.sleep(2)
                file = server.root / path.lstrip("/").split("/", 1)[-1] \
                    if path.startswith(("/slow", "/truncated")) else server.root / path.lstrip("/")
                if not file.is_file():
                    return self.send_error(404)
                data = file.read_bytes()
                start, end = 0, len(data) - 1
                spec = self.headers.get("Range", "")
                if spec.startswith("bytes="):
                    first, _, last = spec[6:].partition("-")
                    start = int(first)
                    end = min(int(last) if last else len(data) - 1, len(data) - 1)
                body = data[start:end + 1]
                self.send_response(206 if spec else 200)
                if spec:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                if path.startswith("/truncated"):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 3])  # then the connection closes
                    self.close_connection = True
                    with server.lock:
                        server.sent[path] = server.sent.get(path, 0) + len(body) // 3
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with server.lock:
                    server.sent[path] = server.sent.get(path, 0) + len(body)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the truncated and timed-out answers break pipes on purpose

        Quiet.request_queue_size = 256  # the default 5 drops concurrent connections
        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http(tmp_path):
    server = Server(tmp_path)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(remote, "BACKOFF", 0.01)


def test_http_files_read_with_one_small_ranged_request_each(http):
    names = sorted(p.name for p in EXAMPLES.iterdir())
    for name in names:
        (http.root / name).write_bytes((EXAMPLES / name).read_bytes())
    urls = [f"{http.url}/{name}" for name in names]
    remote_inventory = reporter.scan(urls, jobs=1)
    local_inventory = reporter.scan([str(EXAMPLES)], jobs=1)
    assert len(remote_inventory) == len(names) and not remote_inventory.failed
    for ours, theirs in zip(remote_inventory, sorted(local_inventory, key=lambda r: r.path)):
        assert ours.path.endswith(Path(theirs.path).name)
        assert same_values(ours, theirs)
    for name in names:  # server side: one request, at most 64 KiB, per file
        assert http.requests[f"/{name}"] == 1
        assert http.sent[f"/{name}"] <= 64 * 1024


def test_long_headers_take_a_second_request(http):
    header_file = http.root / "long_cal.fits"
    from astropy.io import fits

    header = fits.Header()
    header["CAL_VER"] = "1.14.0"
    for number in range(1200):  # ~96 KiB of header: more than the first range
        header.add_comment(f"card {number}")
    header["CRDS_CTX"] = "jwst_1241.pmap"
    fits.PrimaryHDU(header=header).writeto(header_file)
    [record] = reporter.scan([f"{http.url}/long_cal.fits"], jobs=1).records
    assert record.ok and record.crds_ctx == "jwst_1241.pmap"
    assert http.requests["/long_cal.fits"] == 2


def test_http_errors_become_records(http, monkeypatch):
    write(http.root / "good_cal.fits", fits_bytes())
    (http.root / "text_cal.fits").write_text("not FITS at all")
    monkeypatch.setattr(remote, "RETRIES", 2)
    urls = [f"{http.url}/missing/x_cal.fits", f"{http.url}/forbidden/x_cal.fits",
            f"{http.url}/truncated/good_cal.fits", f"{http.url}/text_cal.fits",
            f"{http.url}/good_cal.fits"]
    records = reporter.scan(urls, jobs=1).records
    assert [r.error_code for r in records] == ["missing", "permission", "unreadable", "not-fits", None]
    assert "after 2 tries" in records[2].error
    assert http.requests["/truncated/good_cal.fits"] == 2  # retried once


def test_http_timeout_becomes_a_record(http, monkeypatch):
    import aiohttp

    write(http.root / "good_cal.fits", fits_bytes())
    monkeypatch.setattr(remote, "RETRIES", 1)
    options = {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=0.5)}}
    [record] = reporter.scan([f"{http.url}/slow/good_cal.fits"], jobs=1,
                             storage_options=options).records
    assert record.error_code == "timeout"


def test_local_and_remote_inputs_keep_their_order(http):
    write(http.root / "b_cal.fits", fits_bytes(CAL_VER="1.12.5"))
    local = write(http.root / "local" / "a_cal.fits", fits_bytes(CAL_VER="1.14.0"))
    records = reporter.scan([f"{http.url}/b_cal.fits", local], jobs=1).records
    assert [r.cal_ver for r in records] == ["1.12.5", "1.14.0"]


# S3, through a real S3-compatible server on loopback -------------------------------

class CountingS3:
    """moto's S3 app on a free loopback port, counting requests and bytes per path."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self.gets: dict[str, int] = {}
        self.sent: dict[str, int] = {}

        def counting(environ, start_response):
            chunks = list(app(environ, start_response))
            if environ["REQUEST_METHOD"] == "GET":
                path = environ["PATH_INFO"]
                self.gets[path] = self.gets.get(path, 0) + 1
                self.sent[path] = self.sent.get(path, 0) + sum(len(c) for c in chunks)
            return chunks

        self.server = make_server("127.0.0.1", 0, counting, True, request_handler=MotoRequestHandler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def s3_server(monkeypatch):
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    server = CountingS3()
    yield server
    server.server.shutdown()


@pytest.fixture
def s3(s3_server):
    return {"key": "testing", "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{s3_server.port}",
                              "region_name": "us-east-1"}}


def make_bucket(options, name):
    import boto3

    boto3.client("s3", endpoint_url=options["client_kwargs"]["endpoint_url"],
                 region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=name)


def test_s3_prefix_is_listed_and_scanned_like_local_files(s3, s3_server):
    import s3fs

    make_bucket(s3, "jwst-data")
    fs = s3fs.S3FileSystem(**s3)
    for path in sorted(EXAMPLES.iterdir()):
        fs.pipe(f"jwst-data/paper/{path.name}", path.read_bytes())
    fs.pipe("jwst-data/paper/README.txt", b"not data")
    inventory = reporter.scan(["s3://jwst-data/paper/"], storage_options=s3, jobs=1)
    local = sorted(reporter.scan([str(EXAMPLES)], jobs=1), key=lambda r: Path(r.path).name)
    assert len(inventory) == len(local) and not inventory.failed
    for ours, theirs in zip(sorted(inventory, key=lambda r: r.path), local):
        assert ours.path == f"s3://jwst-data/paper/{Path(theirs.path).name}"
        assert ours.size == theirs.size
        assert same_values(ours, theirs)
        # Server side: one GET of at most 64 KiB per object.
        key = f"/jwst-data/paper/{Path(theirs.path).name}"
        assert s3_server.gets[key] == 1 and s3_server.sent[key] <= 64 * 1024


def test_s3_missing_objects_and_buckets_become_records(s3):
    make_bucket(s3, "jwst-data")
    [missing] = reporter.scan(["s3://jwst-data/none_cal.fits"], storage_options=s3).records
    assert missing.error_code == "missing"
    [bucket] = reporter.scan(["s3://no-such-bucket/x/"], storage_options=s3).records
    assert bucket.error_code in ("missing", "permission", "unreadable") and bucket.error
