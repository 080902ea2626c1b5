"""JSON without NaN or infinity: undefined numbers become null and a note names them.

Strict JSON (RFC 8259) has no NaN; Python's json module writes it unless told not to, and
then fails. Every ``--json`` payload passes through :func:`json_ready` last.
"""
from __future__ import annotations

import math
from typing import Any


def json_ready(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``payload`` with every non-finite float replaced by None; when any was,
    ``payload["notes"]`` gains one line naming where (first eight paths)."""
    where: list[str] = []

    def clean(value, path):
        if isinstance(value, float) or type(value).__name__ in ("float64", "float32", "float16"):
            number = float(value)
            if not math.isfinite(number):
                where.append(path or "(top)")
                return None
            return number
        if isinstance(value, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    out = clean(payload, "")
    if where:
        shown = ", ".join(where[:8]) + (f" and {len(where) - 8} more" if len(where) > 8 else "")
        out.setdefault("notes", [])
        out["notes"] = list(out["notes"]) + [f"null marks a number that is undefined here: {shown}"]
    return out
