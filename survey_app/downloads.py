"""The Content-Disposition header of every download the app serves.

A wave or survey name may be Chinese ("2026年第四季度"): the header carries the name
twice, as RFC 6266 recommends, once as an ASCII fallback in ``filename="..."`` for old
clients and once exactly, UTF-8 and percent-encoded, in RFC 5987's ``filename*``.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Path separators and control characters never reach a saved file name (or a header).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_fallback(filename: str) -> str:
    """``filename`` with accents stripped and every other non-ASCII run as "_";
    "download" when nothing of the name is left (the extension is kept)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    def clean(part: str) -> str:
        flat = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode("ascii")
        return _NOT_ASCII_SAFE.sub("_", flat).strip("._")
    stem = clean(stem)
    stem = stem if stem.strip("_-") else "download"
    extension = clean(extension)
    return f"{stem}.{extension}" if extension else stem


def attachment(filename: str) -> dict[str, str]:
    """Headers for a download saved as ``filename`` (any Unicode)."""
    name = _UNSAFE.sub("_", filename).strip() or "download"
    return {"Content-Disposition": f"attachment; filename=\"{ascii_fallback(name)}\"; "
                                   f"filename*=UTF-8''{quote(name, safe='')}"}
