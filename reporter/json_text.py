"""Strict JSON for the tool's files: what any JSON parser reads, and exactly what was written.

- A float that is not finite (NaN, ±infinity; JSON has no such numbers) is written
  as the text ``"nan"``, ``"inf"`` or ``"-inf"``: it reads back as that text.
- Text stays readable UTF-8, but the characters no file should hold raw are JSON
  escapes: controls, bidi and other format characters, U+2028/U+2029, and the lone
  surrogates by which Python holds the bytes of a file name that are not UTF-8
  (``"\\udcff"``), which :func:`json.loads` turns back into the same name.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .terminal import visible

__all__ = ["dumps"]


def dumps(value: Any, **options: Any) -> str:
    """:func:`json.dumps` as above (``options``: indent, sort_keys, ...)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, **options)
    except ValueError:  # a NaN or infinity somewhere: rare, so only then look for it
        text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, **options)
    # json.dumps escapes the ASCII controls; visible() escapes the rest, JSON's way.
    return visible(text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
