"""Quota counting in the completion's transaction, on SQLite and PostgreSQL alike.

A completion takes a place in every quota its answers belong to (and in the wave's own
cap, ``models.quotas.WAVE_QUOTA_ID``) with one conditional statement per quota::

    UPDATE quota_counts SET count = count + 1 WHERE wave_id = :w AND quota_id = :q AND count < :lim

inside the same transaction that marks the response complete. Zero rows updated: the
quota is full, the places already taken by this completion are given back (in the same
transaction, so nobody ever sees them) and the response ends as ``quota_full``. Between
the last two respondents of a quota the database decides: on PostgreSQL the second
UPDATE waits for the first's row lock and then re-checks ``count < :lim`` against the
committed row (READ COMMITTED re-evaluates the WHERE of an updated row); on SQLite the
page post holds the database's write lock from BEGIN IMMEDIATE on. Quotas are claimed in
sorted order, so two completions never wait for each other's rows crosswise.

The statements run through ``run(statement, params) -> rows``, which each page-post
transaction (Core, or psycopg's connection on the pipelined path) provides.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy import bindparam, func, select, update

from models.quotas import WAVE_QUOTA_ID
from models.storage.quotas import CREATE_COUNT
from models.storage.tables import QuotaCount, Response, Wave

_counts, _waves, _responses = QuotaCount.__table__, Wave.__table__, Response.__table__
# Parameter names differ from the column names: SQLAlchemy reserves those in UPDATE.
_KEY = (_counts.c.wave_id == bindparam("w")) & (_counts.c.quota_id == bindparam("q"))
RAISE = (update(_counts).where(_KEY, _counts.c.count < bindparam("lim"))
         .values(count=_counts.c.count + 1).returning(_counts.c.count))
GIVE_BACK = update(_counts).where(_KEY).values(count=_counts.c.count - 1)
EXISTS = select(_counts.c.count).where(_KEY)
COUNTS_OF_WAVE = select(_counts.c.quota_id, _counts.c.count).where(_counts.c.wave_id == bindparam("w"))
COMPLETE_IN_WAVE = (select(func.count()).select_from(_responses)
                    .where(_responses.c.wave_id == bindparam("w"), _responses.c.status == "complete"))
CLOSE_WAVE = update(_waves).where(_waves.c.id == bindparam("w")).values(closed=True)
CREATE = CREATE_COUNT

Run = Callable[[Any, dict], list]


def claim(run: Run, dialect: str, wave_id: int, claims: Iterable[tuple[str, int]]) -> str | None:
    """Take one place in each quota of ``claims`` ((quota id, limit) pairs); None when all
    had room, else the id of the first full quota (and no place is kept)."""
    taken: list[str] = []
    for quota_id, limit in sorted(claims):
        params = {"w": wave_id, "q": quota_id, "lim": limit}
        rows = run(RAISE, params)
        if not rows:
            if not run(EXISTS, params):
                # The quota's first completion in this wave: its row is made here. The wave's
                # cap starts from the completions before it was set (``csi wave limit`` deletes
                # the row, so it is counted afresh); a declared quota comes with its
                # questionnaire, so with the wave, and starts at 0.
                start = run(COMPLETE_IN_WAVE, {"w": wave_id})[0][0] if quota_id == WAVE_QUOTA_ID else 0
                run(CREATE[dialect], {"w": wave_id, "q": quota_id, "start": start})
            # Asked again whether made here or not: on PostgreSQL the first UPDATE's snapshot
            # may predate another completion's commit of the row (READ COMMITTED: an UPDATE
            # re-checks only rows its snapshot sees), so "no row updated" then meant "not
            # there yet", not "full"; the EXISTS, a new statement, already sees it.
            rows = run(RAISE, params)
        if not rows:
            for earlier in taken:
                run(GIVE_BACK, {"w": wave_id, "q": earlier})
            return quota_id
        taken.append(quota_id)
        if quota_id == WAVE_QUOTA_ID and rows[0][0] >= limit:
            run(CLOSE_WAVE, {"w": wave_id})  # the completion that fills the wave closes it
    return None


def counts(run: Run, wave_id: int) -> dict[str, int]:
    """Quota id -> completions counted so far in the wave (quotas not yet reached: absent)."""
    return {row[0]: row[1] for row in run(COUNTS_OF_WAVE, {"w": wave_id})}
