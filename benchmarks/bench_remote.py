"""Benchmark remote scanning through a loopback HTTP server with added latency.

Serves N JWST-like files (a ~300-card primary header and a data extension of a few
MB) from 127.0.0.1 with Range support, adding a fixed delay to every request, and
counts requests and bytes per file on the server side. In one run it times:

1. ``reporter.scan(urls)``: one ranged read per file, many in flight;
2. ``astropy.io.fits.open(url, use_fsspec=True)`` with its defaults, reading
   ``CAL_VER`` and ``CRDS_CTX`` of each file (on a sample, extrapolated: it is slow);
3. the same scan again with its scan cache (listing sizes are known for S3; for
   HTTP the cache key needs a size, so this run passes the sizes in).

Examples::

    python benchmarks/bench_remote.py                 # 500 files, 20 ms a request
    python benchmarks/bench_remote.py --files 100 --latency-ms 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import generate  # noqa: E402


def serve(root: Path, latency: float):
    stats = {"requests": 0, "bytes": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self, body: bool):
            time.sleep(latency)
            file = root / self.path.lstrip("/").split("?", 1)[0]
            size = file.stat().st_size
            start, end = 0, size - 1
            spec = self.headers.get("Range", "")
            if spec.startswith("bytes="):
                first, _, last = spec[6:].partition("-")
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            self.send_response(206 if spec else 200)
            if spec:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            sent = 0
            if body:
                with open(file, "rb") as stream:
                    stream.seek(start)
                    remaining = end - start + 1
                    while remaining:
                        chunk = stream.read(min(remaining, 1 << 20))
                        self.wfile.write(chunk)
                        remaining -= len(chunk)
                        sent += len(chunk)
            with lock:
                stats["requests"] += 1
                stats["bytes"] += sent

        def do_GET(self):
            self._answer(True)

        def do_HEAD(self):
            self._answer(False)

    class Server(ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops concurrent connections, and a
        # dropped SYN waits a second: that would measure the server, not the clients.
        request_queue_size = 1024
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--data-mb", type=float, default=4.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--astropy-sample", type=int, default=20,
                        help="files read with astropy (its time is extrapolated to --files)")
    args = parser.parse_args()

    import reporter
    from reporter.cache import ScanCache
    from reporter.remote import RemoteFile

    folder = Path(tempfile.mkdtemp(prefix="jwst-provenance-remote-"))
    try:
        generate(folder, args.files, args.data_mb)
        names = sorted(os.listdir(folder))
        server, stats = serve(folder, args.latency_ms / 1000)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = [f"{base}/{name}" for name in names]
        print(f"{len(names)} files of {os.path.getsize(folder / names[0]) / 1e6:.1f} MB, "
              f"{args.latency_ms:g} ms added to every request")

        started = time.perf_counter()
        inventory = reporter.scan(urls)
        ours = time.perf_counter() - started
        assert len(inventory) == len(names) and not inventory.failed, inventory.failed[:3]
        ours_requests, ours_bytes = stats["requests"], stats["bytes"]
        print(f"jwst-provenance scan   {ours:7.2f} s  {len(names) / ours:8.1f} files/s  "
              f"{ours_requests / len(names):.2f} requests and "
              f"{ours_bytes / len(names) / 1024:.1f} KiB per file")

        from astropy.io import fits

        stats.update(requests=0, bytes=0)
        sample = urls[:args.astropy_sample]
        started = time.perf_counter()
        for url in sample:
            with fits.open(url, use_fsspec=True) as hdul:
                hdul[0].header.get("CAL_VER"), hdul[0].header.get("CRDS_CTX")
        theirs = (time.perf_counter() - started) / len(sample) * len(names)
        print(f"astropy fits.open      {theirs:7.2f} s  {len(names) / theirs:8.1f} files/s  "
              f"{stats['requests'] / len(sample):.2f} requests and "
              f"{stats['bytes'] / len(sample) / 1024:.1f} KiB per file "
              f"(use_fsspec=True, defaults; {len(sample)} files, extrapolated)")
        print(f"speed-up over astropy+fsspec defaults: {theirs / ours:.1f}x  (target >= 20x); "
              f"KiB per file: {ours_bytes / len(names) / 1024:.1f} (target <= 64)")

        cache = ScanCache(folder / "cache.sqlite")
        sized = [RemoteFile(url, os.path.getsize(folder / name)) for url, name in zip(urls, names)]
        from reporter.scanner import _scan_cached

        _scan_cached(sized, cache, None, None, None, None)  # fill
        stats.update(requests=0, bytes=0)
        started = time.perf_counter()
        _scan_cached(sized, cache, None, None, None, None)
        cached = time.perf_counter() - started
        print(f"cached rescan          {cached:7.2f} s  {stats['requests']} requests "
              f"({ours / cached:.0f}x faster than the cold remote scan)")
        server.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
