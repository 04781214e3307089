"""Instrument, observing mode and product type of a file, derived from its header and name.

The mapping lives in data files shipped with the package (``knowledge/exptype_modes.csv``
and ``knowledge/product_suffixes.csv``), each row citing the pipeline source it
comes from.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "ExposureType",
    "exposure_types",
    "instrument_name",
    "observing_mode",
    "product_suffix",
    "product_suffixes",
    "strip_fits_extension",
]

#: Display names of the instruments, keyed by the INSTRUME keyword's value.
INSTRUMENTS = {"NIRCAM": "NIRCam", "NIRSPEC": "NIRSpec", "NIRISS": "NIRISS",
               "MIRI": "MIRI", "FGS": "FGS"}

#: File-name endings taken for FITS files, longest first.
FITS_EXTENSIONS = (".fits.gz", ".fit.gz", ".fits", ".fit")


@dataclass(frozen=True)
class ExposureType:
    """One EXP_TYPE value and what it means."""

    exp_type: str
    instrument: str
    mode: str
    category: str  # science, support, calibration, guiding or engineering
    source: str
    checked: str


def _read_knowledge_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("reporter.knowledge").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.cache
def exposure_types() -> dict[str, ExposureType]:
    """Every EXP_TYPE the knowledge base knows, keyed by value."""
    return {row["exp_type"]: ExposureType(**row) for row in _read_knowledge_csv("exptype_modes.csv")}


@functools.cache
def product_suffixes() -> dict[str, dict[str, str]]:
    """The pipeline's product suffixes (``cal``, ``rate``, ``i2d``, ...) with their stage."""
    return {row["suffix"]: row for row in _read_knowledge_csv("product_suffixes.csv")}


def instrument_name(instrume: object, exp_type: object = None) -> str | None:
    """The instrument's display name, from INSTRUME or, when that is absent, EXP_TYPE."""
    if isinstance(instrume, str) and instrume.strip():
        key = instrume.strip().upper()
        return INSTRUMENTS.get(key, key)
    if isinstance(exp_type, str):
        known = exposure_types().get(exp_type.strip().upper())
        if known is not None:
            return known.instrument
    return None


def observing_mode(exp_type: object, tsovisit: object = None) -> str | None:
    """The observing mode (``imaging``, ``MOS``, ``WFSS``, ...) of an EXP_TYPE value.

    Imaging taken in a time-series visit (``TSOVISIT = T``) is time-series imaging:
    MIRI has no separate EXP_TYPE for it. Unknown values give ``None``.
    """
    if not isinstance(exp_type, str):
        return None
    known = exposure_types().get(exp_type.strip().upper())
    if known is None:
        return None
    if known.mode == "imaging" and tsovisit is True:
        return "time-series imaging"
    return known.mode


def strip_fits_extension(name: str) -> str:
    """``jw..._cal.fits.gz`` → ``jw..._cal``; names without a FITS ending are unchanged."""
    lowered = name.lower()
    for extension in FITS_EXTENSIONS:
        if lowered.endswith(extension):
            return name[: -len(extension)]
    return name


def product_suffix(filename: str) -> str | None:
    """The product type from a file name (``..._nrca1_cal.fits`` → ``cal``), or ``None``.

    Level-3 names may append an activity id (``_x1d-01``) and AMI products a
    qualifier (``_ami-oi``): the part before the hyphen is the suffix.
    """
    stem = strip_fits_extension(filename.rsplit("/", 1)[-1])
    token = stem.rsplit("_", 1)[-1].lower()
    known = product_suffixes()
    if token in known:
        return token
    head = token.split("-", 1)[0]
    return head if head in known and head != token else None
