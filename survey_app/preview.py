"""Previewing a questionnaire version: its pages as respondents see them, nothing stored.

The preview's answers (and hidden values) live only in the address: ``a.<question id>=value``
(repeated for a multiple choice) and ``h.<hidden id>=value``. Question ids cannot hold a dot
(the schema's pattern), so these names never clash with a page's fields. Values are read
back through each type's own checks (``models.answers``): a value no page could have sent
is dropped and named, never a 500. Which pages and questions show is decided by
``models.navigation``, as for a respondent; texts that pipe an answer not given show a
placeholder ``[name]``; randomized parts appear in one fixed order (seed ``preview``).

The console's routes (``admin_preview``) and ``csi questionnaire preview`` both render with
:func:`page_parts`, so the file written by the CLI is the console's page without its toolbar.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import navigation
from models.answers import AnswerInvalid, answer_type
from models.hidden import with_hidden
from models.piping import references
from models.questionnaire import Page, Question, Questionnaire
from models.randomization import arrange, page_order

from .forms import PageAnswers
from .question_markup import questions_html

ANSWER_PARAM = "a."
HIDDEN_PARAM = "h."
PREVIEW_SEED = "preview"  # the display order of randomized parts in a preview
MAX_VALUE_CHARS = 2000    # a value longer than any answer a page accepts is refused


@dataclass
class PreviewState:
    """The preview's answers (question id -> value, as ``Expression.evaluate`` reads them),
    the same answers as a page posts them (question id -> list of strings), hidden values
    (id -> text), and the names of values refused while reading them."""

    answers: dict[str, Any] = field(default_factory=dict)
    posted: dict[str, list[str]] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    @property
    def merged(self) -> dict[str, Any]:
        """What conditions read: the answers with ``hidden.<id>`` values."""
        return with_hidden(self.answers, self.hidden)

    def query(self) -> list[tuple[str, str]]:
        """The state as (name, value) pairs of a query string."""
        return ([(ANSWER_PARAM + qid, value) for qid, values in self.posted.items() for value in values]
                + [(HIDDEN_PARAM + key, value) for key, value in self.hidden.items()])


def read_state(questionnaire: Questionnaire, params) -> PreviewState:
    """The preview state in ``params`` (a MultiDict: the request's query string or form)."""
    state = PreviewState()
    for question in questionnaire.questions:
        values = [str(v) for v in params.getlist(ANSWER_PARAM + question.id)]
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue
        value = _parse(question, values)
        if value is None:
            state.refused.append(question.id)
        else:
            set_answer(questionnaire, state, question.id, value)
    for hidden_field in questionnaire.hidden:
        value = params.get(HIDDEN_PARAM + hidden_field.id, "")
        if value == "":
            continue
        if hidden_field.accepts(value):
            state.hidden[hidden_field.id] = value
        else:
            state.refused.append(hidden_field.name)
    return state


def _parse(question: Question, values: list[str]) -> Any:
    """The answer ``values`` stand for, or None when no page could have sent them."""
    entry = answer_type(question)
    if any(len(v) > MAX_VALUE_CHARS for v in values) or entry.tampered(question, values) is not None:
        return None
    try:
        return entry.parse(question, values if entry.multiple else values[0])
    except (AnswerInvalid, ValueError, TypeError):
        return None


def set_answer(questionnaire: Questionnaire, state: PreviewState, question_id: str, value: Any) -> None:
    """Set (or, with None or an empty answer, clear) one answer of ``state``."""
    if value is None or value == "" or value == []:
        state.answers.pop(question_id, None)
        state.posted.pop(question_id, None)
        return
    question = questionnaire.question(question_id)
    state.answers[question_id] = value
    shown = answer_type(question).shown(question, value)
    state.posted[question_id] = list(shown) if isinstance(shown, list) else [shown]


def placeholders(questionnaire: Questionnaire, state: PreviewState) -> dict[str, Any]:
    """``state``'s answers and hidden values for piped texts, with ``[name]`` for each one not given."""
    names = {name for q in questionnaire.questions
             for text in (q.text, q.help, *(o.label for o in q.options)) if text is not None
             for value in text.values.values() for name in references(value)}
    merged = state.merged
    return {**{name: f"[{name}]" for name in names}, **merged}


@dataclass(frozen=True)
class PageParts:
    """What the respondent's page template needs for page ``index`` of a preview."""

    page: Page
    index: int
    shown: bool                       # the state's answers show this page to a respondent
    questions: tuple[Question, ...]   # the questions drawn (all of a page the state hides)
    hidden_questions: tuple[Question, ...]  # questions of a shown page that the state hides
    position: int
    total: int
    previous: int | None
    is_last: bool
    form: PageAnswers
    html: Any                         # the questions' markup (survey_app.question_markup)


def page_parts(questionnaire: Questionnaire, index: int, language: str, state: PreviewState,
               form: PageAnswers | None = None) -> PageParts:
    """Page ``index`` as a respondent with ``state``'s answers would see it; a page those
    answers hide is drawn with all its questions (so every page can be looked at)."""
    page = questionnaire.pages[index]
    answers = navigation.answers_in_effect(questionnaire, state.merged)  # as a respondent's pages: stale ones none
    shown = navigation.page_visible(page, answers)
    visible = navigation.visible_questions(page, answers) if shown else list(page.questions)
    order = page_order(page, PREVIEW_SEED)
    questions = arrange(page, visible, order)
    if form is None:
        form = PageAnswers(questions, answers=answers)
    pages = navigation.visible_pages(questionnaire, answers)
    position = pages.index(index) + 1 if index in pages else 0
    markup = questions_html(questionnaire, questions, language, {q.id: form[q.id].data for q in questions},
                            {q.id: form[q.id].errors[0] if form[q.id].errors else None for q in questions},
                            order, answers=placeholders(questionnaire, state))
    hidden_questions = tuple(q for q in page.questions if q not in visible)
    return PageParts(page, index, shown, tuple(questions), hidden_questions, position, len(pages),
                     navigation.previous_page(questionnaire, answers, index),
                     navigation.is_last_page(questionnaire, answers, index), form, markup)


def page_rows(questionnaire: Questionnaire, state: PreviewState, language: str) -> list[dict]:
    """One row per page for the preview's overview: shown or hidden under ``state``, its
    condition, and how many of its questions are shown."""
    answers = navigation.answers_in_effect(questionnaire, state.merged)  # as a respondent's pages: stale ones none
    rows = []
    for index, page in enumerate(questionnaire.pages):
        shown = navigation.page_visible(page, answers)
        visible = navigation.visible_questions(page, answers)
        rows.append({"number": index + 1, "id": page.id, "title": page.title.get(language) if page.title else "",
                     "shown": shown, "condition": page.show_if.source if page.show_if else "",
                     "questions": len(page.questions), "visible": len(visible) if shown else 0})
    return rows


def condition_questions(questionnaire: Questionnaire) -> list[Question]:
    """The questions whose answers some page's or question's ``show_if`` reads, in file order:
    the switches that walk a conditional path."""
    read = {name for page in questionnaire.pages
            for condition in (page.show_if, *(q.show_if for q in page.questions)) if condition is not None
            for name in condition.names}
    return [q for q in questionnaire.questions if q.id in read]


def choices_of(question: Question, language: str) -> list[tuple[str, str]]:
    return answer_type(question).choices(question, language)
