"""A survey page rendered once per layout and cached as text with gaps, filled per request.

Rendering page.html (with base.html) was the largest single cost of a page post after the
question markup was cached (about a fifth of the server's CPU): the template walks the
same blocks, translations and URLs for every respondent, yet per respondent only three
things differ: the CSRF token, the submission id, and the questions with the answers
shown. So the template is rendered with markers in those three places, split there, and
joined with the real values afterwards.

The markers hold a random part drawn when the process starts, so no questionnaire text
can contain one. Everything else the template reads is in the cache key; a page with
validation errors is always rendered in full (``render`` is not used for it).
"""
from __future__ import annotations

import secrets
from typing import Callable, Hashable

from markupsafe import Markup, escape

_NONCE = secrets.token_hex(8)
CSRF, SUBMISSION, QUESTIONS = (f"\x00{_NONCE}:{name}\x00" for name in ("csrf", "submission", "questions"))
_GAPS = (CSRF, SUBMISSION, QUESTIONS)


class PageSkeletons:
    """Rendered pages with gaps, keyed by everything that shapes them but the three gaps.
    One per app; dict reads and writes are atomic, so threads share it safely (two threads
    may render the same skeleton once each; both results are equal)."""

    def __init__(self, limit: int = 4096):
        self._cache: dict[Hashable, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._limit = limit

    def render(self, key: Hashable, render: Callable[..., str], *, csrf_token: str, submission_id: str,
               questions_html: Markup) -> str:
        """The page for ``key``. ``render(csrf_token=, submission_id=, questions_html=)``
        renders the template with the given values; it is called with the markers on a miss."""
        skeleton = self._cache.get(key)
        if skeleton is None:
            if len(self._cache) >= self._limit:  # bounded: a server fields a few questionnaire versions
                self._cache.clear()
            skeleton = self._cache[key] = _split(render(csrf_token=CSRF, submission_id=SUBMISSION,
                                                        questions_html=Markup(QUESTIONS)))
        texts, gaps = skeleton
        values = {CSRF: str(escape(csrf_token)), SUBMISSION: str(escape(submission_id)), QUESTIONS: str(questions_html)}
        out = [texts[0]]
        for gap, text in zip(gaps, texts[1:]):
            out.append(values[gap])
            out.append(text)
        return "".join(out)


def _split(page: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(texts, gaps): the page is texts[0] + gaps[0] + texts[1] + ... (gaps in page order)."""
    texts, gaps = [], []
    rest = page
    while True:
        found = [(rest.find(gap), gap) for gap in _GAPS if gap in rest]
        if not found:
            texts.append(rest)
            break
        position, gap = min(found)
        texts.append(rest[:position])
        gaps.append(gap)
        rest = rest[position + len(gap):]
    missing = set(_GAPS) - set(gaps)
    if missing:  # a template change that drops a gap must fail loudly, not serve stale values
        raise ValueError(f"page template lost its gaps: {sorted(m.split(':')[1].strip(chr(0)) for m in missing)}")
    return tuple(texts), tuple(gaps)
