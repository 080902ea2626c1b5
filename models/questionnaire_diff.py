"""What changed between two versions of a questionnaire, and whether earlier waves stay comparable.

``diff_questionnaires(old, new)`` is a pure function of two loaded :class:`Questionnaire`
objects. It lists every change (questions added, removed, rescaled, moved to another
construct, retyped, reworded; options added or removed; pages and conditions changed) and
gives each construct a verdict:

* ``breaks``: the construct's index cannot be compared with earlier waves, because one of
  its items was removed, rescaled (scale points, point labels or reverse coding changed),
  retyped, or moved to or from another construct; or the construct itself was dropped.
* ``caution``: comparable, but read with care: an item was added (earlier waves lack its
  answers) or a condition changed who is asked an item.
* ``comparable``: nothing that touches its measurement changed (reworded texts are notices).
* ``new``: the construct exists only in the new version.

Each :class:`Change` has a ``kind`` (a key of :data:`CHANGE_TEXTS`, the English wording;
the console registers a Chinese text for each kind with the same placeholders) and the
``values`` that fill it, so the CLI and the console write the same change in their own
language. Severity: ``breaks`` > ``caution`` > ``notice``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .answers import ANSWER_TYPES
from .questionnaire import Question, Questionnaire, Scale, Text

BREAKS, CAUTION, NOTICE = "breaks", "caution", "notice"
SEVERITY_RANK = {BREAKS: 0, CAUTION: 1, NOTICE: 2}

# kind -> English text ({placeholders} from Change.values).
CHANGE_TEXTS: dict[str, str] = {
    "question_added": "{id} ({type}) added on page {page}",
    "item_added": "{id} added to construct {construct}: earlier waves have no answers to it",
    "question_removed": "{id} ({type}) removed",
    "item_removed": "{id} removed from construct {construct}",
    "construct_moved": "{id} moved from construct {old} to {new}",
    "construct_joined": "{id} now measures construct {new} (before: no construct)",
    "construct_left": "{id} no longer measures construct {old}",
    "type_changed": "{id} changed type from {old} to {new}",
    "rescaled": "{id} rescaled: {old} became {new}",
    "scale_labels_changed": "{id}: scale labels changed ({points})",
    "reverse_changed": "{id}: reverse coding changed from {old} to {new}",
    "dont_know_changed": "{id}: don't-know code changed from {old} to {new}",
    "text_changed": "{id}: {what} reworded ({languages})",
    "options_added": "{id}: options added: {values}",
    "options_removed": "{id}: options removed: {values}",
    "options_relabelled": "{id}: option labels reworded: {values}",
    "condition_changed": "{id}: condition show_if changed from {old} to {new}",
    "required_changed": "{id}: required changed from {old} to {new}",
    "question_moved": "{id} moved from page {old} to page {new}",
    "page_added": "page {id} added",
    "page_removed": "page {id} removed",
    "page_condition_changed": "page {id}: condition show_if changed from {old} to {new}",
    "hidden_added": "hidden field {id} added",
    "hidden_removed": "hidden field {id} removed",
    "model_changed": "the model changed from {old} to {new}",
    "construct_dropped": "construct {construct} is no longer measured",
}

VERDICT_TEXTS = {
    BREAKS: "breaks comparison with earlier waves",
    CAUTION: "comparable with care",
    "comparable": "comparable",
    "new": "new construct (no earlier waves)",
}
NOTHING = "none"  # how an absent condition, construct or model is written in a change


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` (a :data:`CHANGE_TEXTS` key), its ``severity``, the question
    or page it is about (``subject``), the constructs whose comparability it touches, and the
    ``values`` its text is filled with."""

    kind: str
    severity: str
    subject: str
    constructs: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return CHANGE_TEXTS[self.kind].format(**self.values)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "subject": self.subject,
                "constructs": list(self.constructs), "values": dict(self.values), "text": self.text}


@dataclass(frozen=True)
class QuestionnaireDiff:
    """The changes from ``old_version`` to ``new_version`` of questionnaire ``questionnaire_id``,
    most severe first, and a verdict per construct (``construct -> verdict``)."""

    questionnaire_id: str
    old_version: str
    new_version: str
    changes: tuple[Change, ...]
    verdicts: dict[str, str]

    @property
    def breaks_comparison(self) -> bool:
        return BREAKS in self.verdicts.values()

    @property
    def broken_constructs(self) -> tuple[str, ...]:
        return tuple(name for name, verdict in self.verdicts.items() if verdict == BREAKS)

    def as_dict(self) -> dict[str, Any]:
        return {"questionnaire": self.questionnaire_id, "old_version": self.old_version,
                "new_version": self.new_version, "breaks_comparison": self.breaks_comparison,
                "constructs": dict(self.verdicts), "changes": [c.as_dict() for c in self.changes]}

    def lines(self) -> list[str]:
        """The diff as readable English lines (the CLI's output)."""
        out = [f"{self.questionnaire_id}: v{self.old_version} -> v{self.new_version}: "
               f"{len(self.changes)} change{'s' if len(self.changes) != 1 else ''}"]
        out += [f"  {change.severity:8} {change.text}" for change in self.changes]
        if self.verdicts:
            out.append("constructs:")
            out += [f"  {name}: {VERDICT_TEXTS[verdict]}" for name, verdict in self.verdicts.items()]
        return out


def diff_questionnaires(old: Questionnaire, new: Questionnaire) -> QuestionnaireDiff:
    """Every change from ``old`` to ``new`` and each construct's comparability verdict."""
    changes: list[Change] = []
    old_questions, new_questions = {q.id: q for q in old.questions}, {q.id: q for q in new.questions}
    for qid, question in new_questions.items():
        if qid not in old_questions:
            changes.append(_added(question))
    for qid, question in old_questions.items():
        if qid not in new_questions:
            changes.append(_removed(question))
        else:
            changes.extend(_question_changes(question, new_questions[qid], old.languages, new.languages))
    changes.extend(_page_changes(old, new))
    changes.extend(_named_changes("hidden", [h.id for h in old.hidden], [h.id for h in new.hidden]))
    old_model, new_model = _model_text(old), _model_text(new)
    if old_model != new_model:
        changes.append(Change("model_changed", CAUTION, "model", (), {"old": old_model, "new": new_model}))
    old_constructs, new_constructs = old.constructs(), new.constructs()
    for name in old_constructs:
        if name not in new_constructs:
            changes.append(Change("construct_dropped", BREAKS, name, (name,), {"construct": name}))
    verdicts = _verdicts(changes, old_constructs, new_constructs)
    changes.sort(key=lambda c: SEVERITY_RANK[c.severity])  # stable: file order within a severity
    return QuestionnaireDiff(new.id, old.version, new.version, tuple(changes), verdicts)


def _is_item(question: Question) -> bool:
    return ANSWER_TYPES[question.type].model_item and bool(question.construct)


def _added(question: Question) -> Change:
    if _is_item(question):
        return Change("item_added", CAUTION, question.id, (question.construct,),
                      {"id": question.id, "construct": question.construct})
    return Change("question_added", NOTICE, question.id, (),
                  {"id": question.id, "type": question.type, "page": question.page_id})


def _removed(question: Question) -> Change:
    if _is_item(question):
        return Change("item_removed", BREAKS, question.id, (question.construct,),
                      {"id": question.id, "construct": question.construct})
    return Change("question_removed", CAUTION, question.id, (), {"id": question.id, "type": question.type})


def _question_changes(old: Question, new: Question, old_languages, new_languages) -> list[Change]:
    qid, out = old.id, []
    item_constructs = tuple(dict.fromkeys(c for c in (old.construct if _is_item(old) else None,
                                                      new.construct if _is_item(new) else None) if c))
    if old.type != new.type:
        severity = BREAKS if item_constructs else CAUTION
        out.append(Change("type_changed", severity, qid, item_constructs, {"id": qid, "old": old.type, "new": new.type}))
    elif old.construct != new.construct and (_is_item(old) or _is_item(new)):
        if old.construct and new.construct:
            out.append(Change("construct_moved", BREAKS, qid, (old.construct, new.construct),
                              {"id": qid, "old": old.construct, "new": new.construct}))
        elif new.construct:
            out.append(Change("construct_joined", CAUTION, qid, (new.construct,), {"id": qid, "new": new.construct}))
        else:
            out.append(Change("construct_left", BREAKS, qid, (old.construct,), {"id": qid, "old": old.construct}))
    if old.type == new.type:
        out.extend(_scale_changes(qid, old.scale, new.scale, item_constructs))
        if old.reverse != new.reverse:
            out.append(Change("reverse_changed", BREAKS if item_constructs else CAUTION, qid, item_constructs,
                              {"id": qid, "old": old.reverse, "new": new.reverse}))
        out.extend(_option_changes(qid, old, new))
    for what, before, after in (("text", old.text, new.text), ("help", old.help, new.help)):
        languages = _reworded(before, after, old_languages, new_languages)
        if languages:
            out.append(Change("text_changed", NOTICE, qid, (), {"id": qid, "what": what, "languages": ", ".join(languages)}))
    old_if, new_if = _condition(old.show_if), _condition(new.show_if)
    if old_if != new_if:
        out.append(Change("condition_changed", CAUTION, qid, item_constructs, {"id": qid, "old": old_if, "new": new_if}))
    if old.required != new.required:
        out.append(Change("required_changed", NOTICE, qid, (), {"id": qid, "old": old.required, "new": new.required}))
    if old.page_id != new.page_id:
        out.append(Change("question_moved", NOTICE, qid, (), {"id": qid, "old": old.page_id, "new": new.page_id}))
    return out


def _scale_changes(qid: str, old: Scale | None, new: Scale | None, constructs: tuple[str, ...]) -> list[Change]:
    if old is None or new is None:
        return []
    severity = BREAKS if constructs else CAUTION
    out = []
    if (old.minimum, old.maximum) != (new.minimum, new.maximum):
        out.append(Change("rescaled", severity, qid, constructs,
                          {"id": qid, "old": f"{old.minimum}..{old.maximum}", "new": f"{new.minimum}..{new.maximum}"}))
    else:
        points = [p for p in old.points if _label(old.labels.get(p)) != _label(new.labels.get(p))]
        if points:
            out.append(Change("scale_labels_changed", severity, qid, constructs,
                              {"id": qid, "points": ", ".join(map(str, points))}))
    if old.dont_know_code != new.dont_know_code:
        out.append(Change("dont_know_changed", NOTICE, qid, (),
                          {"id": qid, "old": _shown(old.dont_know_code), "new": _shown(new.dont_know_code)}))
    return out


def _option_changes(qid: str, old: Question, new: Question) -> list[Change]:
    before, after = {str(o.value): o.label for o in old.options}, {str(o.value): o.label for o in new.options}
    out = []
    added, removed = [v for v in after if v not in before], [v for v in before if v not in after]
    if added:
        out.append(Change("options_added", CAUTION, qid, (), {"id": qid, "values": ", ".join(added)}))
    if removed:
        out.append(Change("options_removed", CAUTION, qid, (), {"id": qid, "values": ", ".join(removed)}))
    relabelled = [v for v in before if v in after and _label(before[v]) != _label(after[v])]
    if relabelled:
        out.append(Change("options_relabelled", NOTICE, qid, (), {"id": qid, "values": ", ".join(relabelled)}))
    return out


def _page_changes(old: Questionnaire, new: Questionnaire) -> list[Change]:
    before, after = {p.id: p for p in old.pages}, {p.id: p for p in new.pages}
    out = [Change("page_added", NOTICE, pid, (), {"id": pid}) for pid in after if pid not in before]
    out += [Change("page_removed", NOTICE, pid, (), {"id": pid}) for pid in before if pid not in after]
    for pid, page in before.items():
        if pid in after and _condition(page.show_if) != _condition(after[pid].show_if):
            # Who is asked the page's items changes: each construct on the page is read with care.
            constructs = tuple(dict.fromkeys(q.construct for q in after[pid].questions if _is_item(q)))
            out.append(Change("page_condition_changed", CAUTION, pid, constructs,
                              {"id": pid, "old": _condition(page.show_if), "new": _condition(after[pid].show_if)}))
    return out


def _named_changes(kind: str, before: list[str], after: list[str]) -> list[Change]:
    out = [Change(f"{kind}_added", NOTICE, name, (), {"id": name}) for name in after if name not in before]
    return out + [Change(f"{kind}_removed", NOTICE, name, (), {"id": name}) for name in before if name not in after]


def _verdicts(changes: list[Change], old_constructs: dict, new_constructs: dict) -> dict[str, str]:
    verdicts = {name: "comparable" for name in old_constructs if name in new_constructs}
    verdicts.update({name: "new" for name in new_constructs if name not in old_constructs})
    for change in changes:
        for name in change.constructs:
            current = verdicts.get(name)
            if current == "new":
                continue  # no earlier wave measured it: nothing to compare with
            if change.severity == BREAKS or (change.severity == CAUTION and current != BREAKS):
                verdicts[name] = change.severity
    return dict(sorted(verdicts.items()))


def _reworded(before: Text | None, after: Text | None, old_languages, new_languages) -> list[str]:
    if before is None and after is None:
        return []
    languages = dict.fromkeys([*old_languages, *new_languages])
    return [lang for lang in languages
            if (before.get(lang) if before else None) != (after.get(lang) if after else None)]


def _label(text: Text | None) -> tuple | None:
    return None if text is None else tuple(sorted(text.values.items()))


def _condition(expression) -> str:
    return expression.source.strip() if expression is not None else NOTHING


def _shown(value) -> str:
    return NOTHING if value is None else str(value)


def _model_text(questionnaire: Questionnaire) -> str:
    spec = questionnaire.model_spec
    if spec is None:
        return NOTHING
    return spec.template or " / ".join(line.strip() for line in spec.text.splitlines() if line.strip())
