"""Fuzz the header reader with atheris: any bytes, as a file's first bytes.

Checks, for every input:

* the reader raises nothing but :class:`reporter.headers.HeaderError`;
* when astropy reads the same bytes without any warning, every extracted keyword has
  astropy's value and type, or the record's problem names its card
  (``tests/header_mutations.silent_differences``).

Run from the repository's root (see fuzz/README.md)::

    python fuzz/fuzz_headers.py -max_total_time=600 fuzz/corpus
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import header_mutations

    from reporter.headers import HeaderError

_SIMPLE = b"SIMPLE  =                    T".ljust(80)


def test_one_input(data: bytes) -> None:
    # Most inputs would stop at 'not a FITS file': start half of them as FITS does.
    if data[:1] and data[0] & 1:
        data = _SIMPLE + data[1:]
    try:
        header_mutations.tool_reading(data)
    except HeaderError:
        return
    differ = header_mutations.silent_differences(data)
    if differ:
        raise AssertionError(f"read differently from astropy, silently: {differ}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
