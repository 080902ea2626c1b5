"""Quotas: caps on how many completed responses of a kind a wave takes.

A questionnaire's top-level ``quotas:`` list declares them::

    quotas:
      - id: north_store
        when: "region == 'north' and channel == 'store'"
        limit: 200
        text: {en: "We have heard from enough customers like you ...", zh-CN: "..."}

A response whose answers make ``when`` true belongs to the quota. Once ``limit`` responses
of a wave are complete in it, the next one that belongs to it ends with the quota's
``text`` (status ``quota_full``, never counted as complete). The counting itself happens
in the database, in the completion's transaction (``survey_app.responses.quota_claims``);
this module only holds the declarations and the pure checks on answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .expressions import Expression

# A wave's own cap on completions (``max_completes``) is counted in the same table under
# this id, which no declared quota can take (ids are names: letters, digits, _).
WAVE_QUOTA_ID = "*"
MAX_LIMIT = 10_000_000


@dataclass(frozen=True)
class Quota:
    id: str
    when: Expression
    limit: int
    text: Any  # models.questionnaire.Text: the message a respondent over the quota sees

    def applies(self, answers: Mapping[str, Any]) -> bool:
        """True when ``answers`` put the response in this quota."""
        return self.when.evaluate(answers)

    def decided(self, answers: Mapping[str, Any]) -> bool:
        """True once every question ``when`` reads has been answered (the page post where
        that happens is where a full quota can end the response early)."""
        return all(name in answers for name in self.when.names)


def parse_quotas(raw: list, known: set[str], text: Callable, expression: Callable, problem: Callable) -> tuple[Quota, ...]:
    """The quotas of a questionnaire's ``quotas:`` list (already checked against the JSON
    Schema), reporting problems through ``problem(path, message)``. ``text`` and
    ``expression`` are the questionnaire checker's own (translations, unknown names)."""
    quotas: list[Quota] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(raw or ()):
        path = ("quotas", index)
        quota_id = spec["id"]
        if quota_id in seen:
            problem(path + ("id",), f"duplicate quota id {quota_id!r} (also quotas[{seen[quota_id]}])")
        seen.setdefault(quota_id, index)
        limit = spec["limit"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            problem(path + ("limit",), f"limit must be a whole number from 0 to {MAX_LIMIT}, not {limit!r}")
            continue
        when = expression(spec["when"], path + ("when",), known, known, "quota")
        message = text(spec["text"], path + ("text",))
        if when is not None:
            quotas.append(Quota(quota_id, when, limit, message))
    return tuple(quotas)
