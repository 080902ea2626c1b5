"""Stored wave analyses: the data version of a wave, and the rows of ``wave_analyses``.

The data version names exactly which completed responses an analysis used: the
SHA-256 of their count, largest id and latest ``updated_at``. Responses are only ever
added or completed (ids grow, ``updated_at`` moves), so any change to the analysed set
changes one of the three. It costs one indexed aggregate query, so every reader checks
it before trusting a stored analysis.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .repository import find_wave
from .tables import ReportFigures, Response, Wave, WaveAnalysis, _aware


@dataclass(frozen=True)
class DataVersion:
    version: str
    completed: int
    last_change: datetime | None


def data_version(engine: Engine, questionnaire_id: str, wave_name: str) -> DataVersion:
    with Session(engine) as session:
        return wave_data_version(session, find_wave(session, questionnaire_id, wave_name).id)


def wave_data_version(session: Session, wave_id: int) -> DataVersion:
    """``data_version`` of a wave by id, in the caller's session."""
    count, last_id, last_change = session.execute(
        select(func.count(Response.id), func.max(Response.id), func.max(Response.updated_at))
        .where(Response.wave_id == wave_id, Response.status == "complete")).one()
    last_change = _aware(last_change) if last_change is not None else None
    stamp = f"{count}:{last_id}:{last_change.isoformat() if last_change else ''}"
    return DataVersion(hashlib.sha256(stamp.encode()).hexdigest()[:32], int(count), last_change)


def wave_record(engine: Engine, questionnaire_id: str, wave_name: str) -> tuple[int, bool]:
    """(wave id, closed) of a wave; a StorageError naming the known waves when there is none."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        return wave.id, bool(wave.closed)


def load_stored(engine: Engine, questionnaire_id: str, wave_name: str) -> WaveAnalysis | None:
    with Session(engine, expire_on_commit=False) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        return session.get(WaveAnalysis, wave.id)


def load_stored_summaries(engine: Engine, wave_ids: list[int]) -> dict[int, WaveAnalysis]:
    """The stored analyses of ``wave_ids`` without their payloads (for listings)."""
    from sqlalchemy.orm import defer
    with Session(engine, expire_on_commit=False) as session:
        rows = session.scalars(select(WaveAnalysis).options(defer(WaveAnalysis.payload))
                               .where(WaveAnalysis.wave_id.in_(wave_ids)))
        return {row.wave_id: row for row in rows}


def save_stored(engine: Engine, questionnaire_id: str, wave_name: str, **values) -> None:
    """Replace the wave's stored analysis with ``values`` (the columns of ``WaveAnalysis``)."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        session.execute(delete(WaveAnalysis).where(WaveAnalysis.wave_id == wave.id))
        session.add(WaveAnalysis(wave_id=wave.id, **values))
        session.commit()


def load_report_figures(engine: Engine, questionnaire_id: str, wave_name: str, language: str,
                        key: str) -> dict[str, str] | None:
    """The report figures kept for the wave in ``language`` ({name: SVG}), or None when
    none are kept or they were drawn from other inputs (another ``key``)."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        row = session.get(ReportFigures, (wave.id, language))
        if row is None or row.key != key:
            return None
        return json.loads(zlib.decompress(row.figures))


def save_report_figures(engine: Engine, questionnaire_id: str, wave_name: str, language: str, key: str,
                        figures: dict[str, str]) -> None:
    """Keep ``figures`` ({name: SVG}) as the wave's report figures in ``language`` (one set
    per wave and language: a new key replaces the old figures)."""
    payload = zlib.compress(json.dumps(figures, ensure_ascii=False).encode(), 6)
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        session.execute(delete(ReportFigures).where(ReportFigures.wave_id == wave.id,
                                                    ReportFigures.language == language))
        session.add(ReportFigures(wave_id=wave.id, language=language, key=key, figures=payload))
        try:
            session.commit()
        except IntegrityError:
            # Another worker kept this wave's figures at the same moment: theirs stay (the
            # next report compares keys and redraws if they were drawn from other inputs).
            session.rollback()


def all_waves(engine: Engine) -> list[tuple[str, str, bool]]:
    """(questionnaire id, wave name, closed) of every wave, by questionnaire and name."""
    with Session(engine) as session:
        return [(q, n, bool(c)) for q, n, c in
                session.execute(select(Wave.questionnaire_id, Wave.name, Wave.closed)
                                .order_by(Wave.questionnaire_id, Wave.name))]
