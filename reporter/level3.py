"""The inputs of combined (level-3) products, from their ``HDRTAB`` extension.

A mosaic or combined spectrum shows only its last step's CAL_VER, and keeps its
first input's CRDS_CTX; its ``HDRTAB`` binary table holds one row per input with
their keywords. This module walks the file's extensions by their headers alone,
seeking past every data section (by BITPIX, NAXISn, PCOUNT and GCOUNT; gzip files
are decompressed and discarded as a stream) until ``HDRTAB``, then reads that table.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Any

from .headers import BLOCK_SIZE, CARD_SIZE, HeaderError, _find_end

__all__ = ["COMBINED_SUFFIXES", "HdrTab", "read_association", "read_catalog", "read_hdrtab"]

#: Products the pipeline combines from several inputs (resample, cube_build, combine_1d).
COMBINED_SUFFIXES = frozenset({"i2d", "s2d", "s3d", "x1d", "c1d", "psfstack", "crf"})
_MAX_EXTENSIONS = 64


@dataclass
class HdrTab:
    """The rows of a product's HDRTAB (one dict per input) and the bytes read to get them."""

    rows: list[dict[str, Any]]
    bytes_read: int


class _PlainReader:
    def __init__(self, path: str):
        self.descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.bytes_read = 0

    def read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:  # os.read may return less than asked
            chunk = os.read(self.descriptor, size - len(data))
            if not chunk:
                break
            data += chunk
        self.bytes_read += len(data)
        return bytes(data)

    def skip(self, size: int) -> None:
        position = os.lseek(self.descriptor, size, os.SEEK_CUR)  # never read data not needed
        if position > os.fstat(self.descriptor).st_size:
            _broken("truncated: the file ends inside an extension's data")

    def close(self) -> None:
        os.close(self.descriptor)


class _GzipReader:
    """Decompressed bytes on demand; skipping decompresses and discards (gzip cannot seek)."""

    def __init__(self, path: str):
        self.descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""
        self.bytes_read = 0  # compressed bytes read from disk

    def _inflate(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            if not self.pending and not self.decompressor.unconsumed_tail:
                self.pending = os.read(self.descriptor, 64 * 1024)
                self.bytes_read += len(self.pending)
                if not self.pending:
                    break
            source = self.decompressor.unconsumed_tail or self.pending
            self.pending = b""
            out += self.decompressor.decompress(source, min(size - len(out), 1 << 20))
            if self.decompressor.eof:
                break
        return bytes(out)

    def read(self, size: int) -> bytes:
        return self._inflate(size)

    def skip(self, size: int) -> None:
        while size > 0:
            chunk = self._inflate(min(size, 1 << 20))
            if not chunk:
                _broken("truncated: the file ends inside an extension's data")
            size -= len(chunk)

    def close(self) -> None:
        os.close(self.descriptor)


def _header(reader: Any) -> tuple[bytes, dict[str, Any]] | None:
    """The next HDU's header bytes (whole blocks) and its sizing keywords; None at the end."""
    data = b""
    while True:
        block = reader.read(BLOCK_SIZE)
        if not block:
            return None if not data else _broken("the file ends inside an extension header")
        if len(block) < BLOCK_SIZE:
            _broken("the file ends inside an extension header")
        data += block
        end = _find_end(data, len(data) - BLOCK_SIZE)
        if end != -1:
            return data, _sizing(data[:end])
        if len(data) > 100 * BLOCK_SIZE:
            _broken("an extension header has no END card")


def _broken(message: str) -> Any:
    raise HeaderError("unreadable", message)


def _sizing(raw: bytes) -> dict[str, Any]:
    wanted = {}
    text = raw.decode("ascii", "replace")
    for start in range(0, len(text), CARD_SIZE):
        key = text[start:start + 8].rstrip()
        if key in ("BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "EXTNAME") or (
                key.startswith("NAXIS") and key[5:].isdigit()):
            value = text[start + 10:start + CARD_SIZE].split("/", 1)[0].strip()
            wanted[key] = value.strip("'").strip() if key == "EXTNAME" else int(value)
    return wanted


def _data_size(sizing: dict[str, Any]) -> int:
    axes = sizing.get("NAXIS", 0)
    if axes == 0:
        elements = 0
    else:
        elements = 1
        for axis in range(1, axes + 1):
            elements *= sizing.get(f"NAXIS{axis}", 0)
    size = abs(sizing.get("BITPIX", 8)) // 8 * sizing.get("GCOUNT", 1) * (
        sizing.get("PCOUNT", 0) + elements)
    return -(-size // BLOCK_SIZE) * BLOCK_SIZE


def read_hdrtab(path: str | os.PathLike[str], extname: str = "HDRTAB") -> HdrTab | None:
    """The HDRTAB rows of a file, or None when it has none.

    Raises
    ------
    HeaderError
        When the file cannot be walked (truncated, a header without END).
    """
    name = os.fspath(path)
    with open(name, "rb") as stream:
        gzipped = stream.read(2) == b"\x1f\x8b"
    try:
        reader = _GzipReader(name) if gzipped else _PlainReader(name)
    except FileNotFoundError:
        raise HeaderError("missing", "no such file") from None
    except OSError as exc:
        raise HeaderError("unreadable", f"cannot open: {exc.strerror}") from None
    try:
        for _ in range(_MAX_EXTENSIONS):
            found = _header(reader)
            if found is None:
                return None
            raw, sizing = found
            size = _data_size(sizing)
            if sizing.get("EXTNAME", "").upper() == extname:
                data = reader.read(size)
                if len(data) < size:
                    _broken(f"truncated: the file ends inside the {extname} table")
                return HdrTab(_table_rows(raw + data), reader.bytes_read)
            reader.skip(size)
        return None
    finally:
        reader.close()


def _table_rows(hdu_bytes: bytes) -> list[dict[str, Any]]:
    # The binary table itself is parsed by astropy: only the HDRTAB, only when asked.
    import warnings

    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdu = fits.BinTableHDU.fromstring(hdu_bytes)
        table = hdu.data
        rows = []
        for row in table:
            item = {}
            for column in table.columns.names:
                value = row[column]
                if hasattr(value, "item"):
                    value = value.item()
                if isinstance(value, bytes):
                    value = value.decode("ascii", "replace")
                if isinstance(value, str):
                    value = value.rstrip()
                item[column.upper()] = value
            rows.append(item)
    return rows


def read_association(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An association file's own fields: id, type, rule, pool, program, and its products
    with their members' exposure names.

    Raises
    ------
    ValueError
        When the file is not JSON or not an association (no ``products`` list).
    """
    import json

    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise ValueError("not an association: no 'products' list")
    products = []
    for item in document["products"]:
        members = item.get("members") if isinstance(item, dict) else None
        members = members if isinstance(members, list) else []
        products.append({
            "name": item.get("name") if isinstance(item, dict) else None,
            "members": [{"expname": m.get("expname"), "exptype": m.get("exptype")}
                        for m in members if isinstance(m, dict)],
        })
    return {
        "path": os.fspath(path),
        **{key: document.get(key) for key in ("asn_id", "asn_type", "asn_rule", "asn_pool",
                                              "program", "target", "version_id")},
        "products": products,
    }


def read_catalog(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The software versions an ECSV product (a source catalog) records in its metadata.

    Only the header is read (astropy's own ECSV header parser), never the table.
    Returns None for ECSV files that are not pipeline products (an inventory written
    by this tool, say).

    Raises
    ------
    ValueError
        When the file is not ECSV.
    """
    from astropy.table.meta import get_header_from_yaml

    lines = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if not line.startswith("#"):
                break
            lines.append(line[2:] if line.startswith("# ") else line[1:])
    if not lines or not lines[0].startswith("%ECSV"):
        raise ValueError("not an ECSV file (no '# %ECSV' first line)")
    header = get_header_from_yaml(line.rstrip("\n") for line in lines[1:])
    meta = header.get("meta") or {}
    if meta.get("format") == "jwst-provenance inventory":
        return None
    versions = meta.get("versions") if isinstance(meta.get("versions"), dict) else meta.get("version")
    versions = {str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else {}
    return {"path": os.fspath(path), "jwst": versions.get("jwst"), "versions": versions,
            "rows": None}
