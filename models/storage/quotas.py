"""Quota counts and wave limits as the console, the CLI and the API show and set them.

The counting itself is done by the completions (``survey_app.responses.quota_claims``)
and by imports (:func:`add_imported`, ``csi import``); this module reads the counters and
changes a wave's limits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from typing import Mapping

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.questionnaire import Questionnaire, parse_questionnaire
from models.quotas import WAVE_QUOTA_ID

from .tables import QuotaCount, Response, Wave

_counts = QuotaCount.__table__
_ROW = {"wave_id": bindparam("w"), "quota_id": bindparam("q"), "count": bindparam("start")}
# A quota's counter row, made by the first completion (or import) that counts in it; one
# statement per dialect, both doing nothing when another transaction made it first.
CREATE_COUNT = {"sqlite": sqlite.insert(_counts).values(_ROW).on_conflict_do_nothing(),
                "postgresql": postgresql.insert(_counts).values(_ROW).on_conflict_do_nothing()}
_KEY = (_counts.c.wave_id == bindparam("w")) & (_counts.c.quota_id == bindparam("q"))
_ADD = update(_counts).where(_KEY).values(count=_counts.c.count + bindparam("n")).returning(_counts.c.count)


@dataclass(frozen=True)
class QuotaStatus:
    """One quota of a wave: ``count`` completed responses of ``limit``; ``screened_out``:
    responses it ended (status quota_full). ``id`` "*" is the wave's own cap."""

    id: str
    count: int
    limit: int | None
    screened_out: int

    @property
    def full(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    def to_dict(self) -> dict:
        return {"id": self.id, "count": self.count, "limit": self.limit, "full": self.full,
                "screened_out": self.screened_out}


def wave_questionnaire(wave: Wave) -> Questionnaire:
    return parse_questionnaire(json.dumps(wave.questionnaire_version.content, ensure_ascii=False), f"survey {wave.survey_id}")


def quota_status(session: Session, wave: Wave) -> list[QuotaStatus]:
    """The wave's cap (when it has one, first) and its questionnaire's quotas, in file order."""
    counted = dict(session.execute(select(QuotaCount.quota_id, QuotaCount.count)
                                   .where(QuotaCount.wave_id == wave.id)).all())
    ended = dict(session.execute(select(Response.quota_id, func.count())
                                 .where(Response.wave_id == wave.id, Response.status == "quota_full")
                                 .group_by(Response.quota_id)).all())
    out = []
    if wave.max_completes is not None:
        complete = session.scalar(select(func.count()).select_from(Response)
                                  .where(Response.wave_id == wave.id, Response.status == "complete"))
        out.append(QuotaStatus(WAVE_QUOTA_ID, complete, wave.max_completes, ended.get(WAVE_QUOTA_ID, 0)))
    for quota in wave_questionnaire(wave).quotas:
        out.append(QuotaStatus(quota.id, counted.get(quota.id, 0), quota.limit, ended.get(quota.id, 0)))
    return out


_UNSET = object()


def set_wave_limits(session: Session, wave: Wave, max_completes=_UNSET, closes_at=_UNSET) -> None:
    """Change the wave's cap on completions (None: no cap) and its closing time (None: none).
    A changed cap is counted afresh from the wave's completions by the next one (its
    counter row is deleted), so completions made while there was no cap count too."""
    if max_completes is not _UNSET:
        if max_completes is not None and (isinstance(max_completes, bool) or not isinstance(max_completes, int)
                                          or max_completes < 1):
            raise ValueError(f"max completes must be a whole number of at least 1, not {max_completes!r}")
        wave.max_completes = max_completes
        session.execute(delete(QuotaCount).where(QuotaCount.wave_id == wave.id, QuotaCount.quota_id == WAVE_QUOTA_ID))
    if closes_at is not _UNSET:
        if closes_at is not None and (not isinstance(closes_at, datetime) or closes_at.tzinfo is None):
            raise ValueError("the closing time needs a time zone, e.g. 2026-12-31T18:00:00+08:00")
        # In UTC: SQLite keeps the wall-clock time and drops the zone (everything stored is UTC).
        wave.closes_at = None if closes_at is None else closes_at.astimezone(timezone.utc)


@dataclass(frozen=True)
class QuotaOverrun:
    """A quota (``id`` "*": the wave's cap) that imported responses took past its limit:
    ``count`` completions counted of ``limit``."""

    id: str
    count: int
    limit: int

    def __str__(self) -> str:
        what = "the wave's cap on completions" if self.id == WAVE_QUOTA_ID else f"quota {self.id}"
        return f"{what} now over by {self.count - self.limit} ({self.count} of {self.limit})"


def add_imported(connection: Connection, wave: Wave, added: Mapping[str, int],
                 limits: Mapping[str, int]) -> list[QuotaOverrun]:
    """Count imported completions in the quotas they belong to: ``added`` quota id -> how
    many, ``limits`` quota id -> limit (the wave's cap under "*"), in the import's own
    transaction (after its responses are inserted). Unlike a completion on the survey's
    pages, nothing is refused: imported answers are facts already collected, so they are
    stored and counted even past a limit, and the quotas so taken past it are returned.
    The wave's cap counts every complete response of the wave, so its counter (when it has
    one yet) grows by the imported completions, and an import that fills it closes the wave
    as the completion that fills it would."""
    dialect = connection.dialect.name
    over = []
    for quota_id, count in sorted(added.items()):
        if not count:
            continue
        params = {"w": wave.id, "q": quota_id, "n": count}
        rows = connection.execute(_ADD, params).all()
        if not rows:
            # No counter yet: made here. A declared quota starts from what this import adds;
            # the cap from the wave's complete responses, which include the ones just inserted.
            start = count if quota_id != WAVE_QUOTA_ID else connection.scalar(
                select(func.count()).select_from(Response).where(Response.wave_id == wave.id,
                                                                 Response.status == "complete"))
            created = connection.execute(CREATE_COUNT[dialect], {**params, "start": start}).rowcount
            # Made meanwhile by a completion on the survey's pages: this import's count added to it.
            rows = connection.execute(_ADD, {**params, "n": 0 if created else count}).all()
        total, limit = rows[0][0], limits[quota_id]
        if quota_id == WAVE_QUOTA_ID and total >= limit:
            connection.execute(update(Wave).where(Wave.id == wave.id).values(closed=True))
        if total > limit:
            over.append(QuotaOverrun(quota_id, total, limit))
    return over
