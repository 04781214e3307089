"""Small JWST-like FITS files for the tests, written by astropy."""

from __future__ import annotations

import functools
import io
import os

import numpy as np
from astropy.io import fits


def make_primary_header(**overrides) -> fits.Header:
    """A realistic JWST-like primary header (SIMPLE ... R_*/S_* ...)."""
    header = fits.PrimaryHDU().header
    cards = {
        "DATE": "2024-03-01T12:00:00.000",
        "TELESCOP": "JWST",
        "CAL_VER": "1.14.0",
        "CRDS_VER": "11.17.19",
        "CRDS_CTX": "jwst_1241.pmap",
        "INSTRUME": "NIRCAM",
        "DETECTOR": "NRCA1",
        "EXP_TYPE": "NRC_IMAGE",
        "FILTER": "F200W",
        "PROGRAM": "01345",
        "OBSERVTN": "001",
        "TARGNAME": "NGC 1234",
        "R_DARK": "crds://jwst_nircam_dark_0342.fits",
        "R_FLAT": "crds://jwst_nircam_flat_0585.fits",
        "R_GAIN": "crds://jwst_nircam_gain_0097.fits",
        "S_DARK": "COMPLETE",
        "S_FLAT": "COMPLETE",
        "S_PERSIS": "SKIPPED",
    }
    cards.update(overrides)
    for key, value in cards.items():
        header[key] = value
    return header


def fits_bytes(**overrides) -> bytes:
    """A small FITS file: the primary header above plus a tiny SCI ImageHDU."""
    # The cache key holds each value's type: 1, 1.0 and True are equal as keys,
    # but they are different header values (T, 1.0, 1).
    return _fits_bytes(tuple(sorted((key, type(value).__name__, value)
                                    for key, value in overrides.items())))


@functools.cache
def _fits_bytes(typed: tuple) -> bytes:
    overrides = [(key, value) for key, _, value in typed]
    hdus = fits.HDUList([
        fits.PrimaryHDU(header=make_primary_header(**dict(overrides))),
        fits.ImageHDU(np.zeros((4, 4), dtype=np.float32), name="SCI"),
    ])
    buffer = io.BytesIO()
    hdus.writeto(buffer)
    return buffer.getvalue()


def write(path: os.PathLike | str, data: bytes | None = None) -> str:
    """Write a FITS file (or the given bytes) at ``path``, creating folders; return str(path)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(fits_bytes() if data is None else data)
    return path
