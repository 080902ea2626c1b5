"""Reading and writing surveys, waves and responses.

Functions take an Engine or Session explicitly (no globals). The bulk loader reads a
wave's answers through one SQL query and pivots them with numpy, because the
ORM would spend minutes on a million answers.
"""
from __future__ import annotations

import functools
import hashlib
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from ..errors import CSIError
from ..questionnaire import Questionnaire
from .tables import Invitation, Response, QuestionnaireVersion, Wave, utcnow

if TYPE_CHECKING:
    import pandas as pd

# numpy and pandas are imported where they are used: the survey server imports this module
# but none of its frame functions, and pandas alone is about 41,000 objects per process.


class StorageError(CSIError):
    """A lookup or write the database cannot satisfy (unknown wave, reused token...)."""


def register_questionnaire(session: Session, questionnaire: Questionnaire) -> QuestionnaireVersion:
    """Store this exact questionnaire version once; return its row (existing or new)."""
    existing = session.scalar(select(QuestionnaireVersion).where(
        QuestionnaireVersion.questionnaire_id == questionnaire.id, QuestionnaireVersion.content_hash == questionnaire.content_hash))
    if existing is not None:
        return existing
    survey = QuestionnaireVersion(questionnaire_id=questionnaire.id, version=questionnaire.version,
                    content_hash=questionnaire.content_hash, content=dict(questionnaire.raw),
                    title=questionnaire.title.get()[:500])
    session.add(survey)
    session.flush()
    return survey


def create_wave(session: Session, survey: QuestionnaireVersion, name: str, opens_at: datetime | None = None,
                closes_at: datetime | None = None) -> Wave:
    existing = find_wave(session, survey.questionnaire_id, name, required=False)
    if existing is not None:
        raise StorageError(f"wave {name!r} of {survey.questionnaire_id!r} already exists")
    wave = Wave(questionnaire_id=survey.questionnaire_id, name=name, survey_id=survey.id,
                opens_at=opens_at, closes_at=closes_at, closed=False)
    session.add(wave)
    session.flush()
    return wave


def find_wave(session: Session, questionnaire_id: str, name: str, required: bool = True) -> Wave | None:
    wave = session.scalar(select(Wave).where(Wave.questionnaire_id == questionnaire_id, Wave.name == name))
    if wave is None and required:
        names = session.scalars(select(Wave.name).where(Wave.questionnaire_id == questionnaire_id)).all()
        known = f"; its waves: {', '.join(names)}" if names else "; it has no waves"
        raise StorageError(f"no wave {name!r} for questionnaire {questionnaire_id!r}{known}")
    return wave


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invitations(session: Session, wave: Wave, attributes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create one invitation per attribute mapping; return the plain tokens (shown once).

    Tokens carry 256 bits from ``secrets``; only their SHA-256 is stored.
    """
    tokens = []
    rows = []
    for attrs in attributes:
        token = secrets.token_urlsafe(32)
        tokens.append(token)
        rows.append({"wave_id": wave.id, "token_hash": hash_token(token), "attributes": dict(attrs),
                     "created_at": utcnow()})
    if rows:
        session.execute(insert(Invitation), rows)
    return tokens


def load_wave_frame(engine: Engine, questionnaire_id: str, wave_name: str, status: str = "complete",
                    columns: Iterable[str] | None = None) -> pd.DataFrame:
    """All ``status`` responses of a wave as one wide frame.

    Shape: one row per response (index ``response_id``, sorted), one column per
    question that has at least one answer (or exactly ``columns`` when given).
    Numeric answers are float64 (NaN = unanswered); choice and text answers are
    strings (multiple choice as a JSON list).
    """
    import numpy as np
    import pandas as pd

    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        wave_id = wave.id
        questionnaire = stored_questionnaire(session.get(QuestionnaireVersion, wave.survey_id))
    sql = ("SELECT a.response_id, a.question_id, a.value_num, a.value_text FROM answers a "
           "JOIN responses r ON r.id = a.response_id WHERE r.wave_id = {0} AND r.status = {0}")
    id_sql = text("SELECT id FROM responses WHERE wave_id = :wave AND status = :status ORDER BY id")
    with engine.connect() as connection:
        response_ids = np.array([row[0] for row in connection.execute(id_sql, {"wave": wave_id, "status": status})],
                                dtype=np.int64)
        # The DBAPI cursor directly: SQLAlchemy's Row objects cost more than the query for a million rows.
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()
        marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        cursor.execute(sql.format(marker), (wave_id, status))
        rows = pd.DataFrame(cursor.fetchall(), columns=["response_id", "question_id", "value_num", "value_text"])
        cursor.close()
    wanted = list(columns) if columns is not None else None
    if rows.empty:
        return pd.DataFrame(index=pd.Index(response_ids, name="response_id"), columns=wanted or [], dtype=float)
    row_index = np.searchsorted(response_ids, rows["response_id"].to_numpy(dtype=np.int64))
    question_codes, question_names = pd.factorize(rows["question_id"], sort=False)
    matrix = np.full((len(response_ids), len(question_names)), np.nan)
    matrix[row_index, question_codes] = rows["value_num"].to_numpy(dtype=float, na_value=np.nan)
    frame = pd.DataFrame(matrix, index=pd.Index(response_ids, name="response_id"), columns=list(question_names))
    texts = rows["value_text"].to_numpy(dtype=object)
    has_text = rows["value_text"].notna().to_numpy()
    if has_text.any():
        for code in np.unique(question_codes[has_text]):
            mask = has_text & (question_codes == code)
            # Numbers the question also has (rows an older bulk loader wrote) stay beside the texts.
            stored_numbers = matrix[:, code]
            column = np.where(np.isnan(stored_numbers), None, stored_numbers).astype(object)
            column[row_index[mask]] = texts[mask]
            frame[question_names[code]] = column
    _drop_stale_answers(engine, wave_id, status, questionnaire, frame)
    if wanted is not None:
        frame = frame.reindex(columns=wanted)
    return frame


def _drop_stale_answers(engine: Engine, wave_id: int, status: str, questionnaire: Questionnaire,
                        frame: pd.DataFrame) -> None:
    """Blank, in ``frame`` (load_wave_frame's, before any column selection), the answers of
    web responses to questions their other answers hide (models.navigation: a respondent
    went back and changed an earlier answer; completion deletes such answers, but partial
    responses keep them, and so may responses completed before chains of conditions were
    followed). Answers an import brought (``origin`` "imported") are the file's, kept as
    they are."""
    import numpy as np
    import pandas as pd

    from .. import navigation
    from ..hidden import is_hidden_name, with_hidden

    conditional = [q for page in questionnaire.pages for q in page.questions
                   if (page.show_if is not None or q.show_if is not None) and q.id in frame.columns]
    if not conditional or frame.empty:
        return
    read: set[str] = set()  # the names the conditions read
    for page in questionnaire.pages:
        for condition in [page.show_if] + [q.show_if for q in page.questions]:
            read.update(condition.names if condition is not None else ())
    names = read | {q.id for q in conditional}
    # Core rows of the few responses concerned (imported ones; ones with hidden values, when
    # a condition reads them), not ORM rows of all: that cost more than the rest together.
    responses = Response.__table__.c
    of_wave = (responses.wave_id == wave_id) & (responses.status == status)
    with engine.connect() as connection:
        imported = set(connection.execute(select(responses.id).where(of_wave, responses.origin == "imported")).scalars())
        hidden = dict(connection.execute(select(responses.id, responses.hidden)
                                         .where(of_wave, responses.hidden.is_not(None))).all()) \
            if any(map(is_hidden_name, names)) else {}

    def decoded(name: str, cell: Any) -> Any:
        question = questionnaire.question(name)
        stored = (None, cell) if isinstance(cell, str) else (cell, None)
        return answer_type(question).decode(question, *stored)

    # Rows with the same cells in the columns the conditions read, the same conditional
    # questions answered (whatever the answer, an open text say) and the same hidden values
    # have the same stale answers: grouped by pandas, evaluated once per group (a handful
    # per wave; docs/benchmarks.md has the cost).
    readable = [name for name in sorted(names) if name in frame.columns]
    answered = frame[[q.id for q in conditional]].notna().any(axis=1).to_numpy() & ~frame.index.isin(list(imported))
    if not answered.any():
        return
    keys = pd.DataFrame({name: frame[name].to_numpy()[answered] if name in read else frame[name].notna().to_numpy()[answered]
                         for name in readable})
    links_of = [json.dumps(hidden[rid], sort_keys=True) if rid in hidden else "{}" for rid in frame.index[answered].tolist()]
    keys["hidden."] = links_of  # not a question id: no question may be named with a dot
    positions = np.flatnonzero(answered)
    stale: dict[str, list[int]] = {}
    for key, members in keys.groupby(list(keys.columns), dropna=False, sort=False).indices.items():
        *row_cells, link = key
        answers = {}
        for name, cell in zip(readable, row_cells):
            if name in read and not is_missing(cell):
                answers[name] = decoded(name, cell)
            elif name not in read and cell:
                answers[name] = True  # answered; what it says decides nothing
        kept = navigation.answers_in_effect(questionnaire, with_hidden(answers, json.loads(link)))
        for question in conditional:
            if question.id in answers and question.id not in kept:
                stale.setdefault(question.id, []).extend(positions[members].tolist())
    for question_id, rows in stale.items():
        column = frame[question_id].to_numpy(copy=True)
        column[rows] = np.nan if column.dtype.kind == "f" else None
        frame[question_id] = column


def load_response_attributes(engine: Engine, questionnaire_id: str, wave_name: str,
                             status: str = "complete") -> pd.DataFrame:
    """Invitation attributes (region, tier, channel...) of a wave's responses, indexed by
    response_id, and the hidden values that came with their links as ``hidden.<id>``
    columns (models.hidden; what ``segment: true`` on a hidden field analyses); responses
    from public links have no attributes (all-missing rows)."""
    import pandas as pd

    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        rows = session.execute(select(Response.id, Invitation.attributes, Response.hidden)
                               .outerjoin(Invitation, Invitation.id == Response.invitation_id)
                               .where(Response.wave_id == wave.id, Response.status == status)
                               .order_by(Response.id)).all()
    records = [{**(attrs or {}), **{f"hidden.{k}": v for k, v in (hidden or {}).items()}} for _, attrs, hidden in rows]
    frame = pd.DataFrame(records, index=pd.Index([r[0] for r in rows], name="response_id"))
    return frame


def origin_counts(engine: Engine, questionnaire_id: str, wave_name: str, status: str = "complete") -> dict[str, int]:
    """How many of a wave's ``status`` responses came from each origin ("web", "imported")."""
    from sqlalchemy import func

    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        rows = session.execute(select(Response.origin, func.count(Response.id))
                               .where(Response.wave_id == wave.id, Response.status == status)
                               .group_by(Response.origin)).all()
    return {origin: int(count) for origin, count in rows}


def wave_names(engine: Engine, questionnaire_id: str) -> list[str]:
    """The questionnaire's waves in order of name (period names sort by time)."""
    with Session(engine) as session:
        return list(session.scalars(select(Wave.name).where(Wave.questionnaire_id == questionnaire_id).order_by(Wave.name)))


def questionnaire_of_wave(engine: Engine, questionnaire_id: str, wave_name: str) -> Questionnaire:
    """The exact questionnaire version a wave was fielded with."""
    with Session(engine) as session:
        wave = find_wave(session, questionnaire_id, wave_name)
        return stored_questionnaire(session.get(QuestionnaireVersion, wave.survey_id))


def stored_questionnaire(survey: QuestionnaireVersion) -> Questionnaire:
    """The questionnaire of a stored version, parsed once per process (keyed by content hash)."""
    return _parse_stored(survey.content_hash, json.dumps(survey.content, ensure_ascii=False, sort_keys=True),
                         survey.questionnaire_id)


@functools.lru_cache(maxsize=64)
def _parse_stored(content_hash: str, text: str, questionnaire_id: str) -> Questionnaire:
    from ..questionnaire import parse_questionnaire
    return parse_questionnaire(text, f"{questionnaire_id} (stored)")
