"""Quota counts and wave limits as the console, the CLI and the API show and set them.

The counting itself is done by the completions (``survey_app.responses.quota_claims``);
this module reads the counters and changes a wave's limits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models.questionnaire import Questionnaire, parse_questionnaire
from models.quotas import WAVE_QUOTA_ID

from .tables import QuotaCount, Response, Wave


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
    return parse_questionnaire(json.dumps(wave.survey.content, ensure_ascii=False), f"survey {wave.survey_id}")


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
