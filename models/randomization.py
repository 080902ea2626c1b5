"""The order a response is shown things in, when a questionnaire asks for ``randomize: true``
(a choice question's options, a matrix's rows, a page's questions).

The order is a pure function of a seed (the response's id) and the thing ordered, so the
same response sees the same order on every reload, device and server, and anyone can
recompute it; it is stored with the response too (``responses.display_order``) so an
export says what each respondent saw even if this function changes.

A display order is a mapping ``{key: [ids in the order shown]}``: ``"page:<page id>"`` ->
question ids (a matrix stands as its own id, its rows kept together), ``<matrix id>`` ->
row ids, ``<question id>`` -> option values as the page posts them (text), and
``"block:<block id>"`` -> the ids of a block's pages (``blocks:``) in the order shown.

Shuffled blocks change the order pages come in: :func:`page_sequence` gives the indexes
of all pages in the order a response sees them, which ``models.navigation`` walks.
"""
from __future__ import annotations

import hashlib
import random
from typing import Mapping, Sequence

from .questionnaire import Page, PageBlock, Question, Questionnaire


def shuffled(seed: str, name: str, items: Sequence[str]) -> list[str]:
    """``items`` in the order ``seed`` gives ``name`` (SHA-256 of both seeds Python's
    Mersenne Twister: the same on every platform and Python version since 3.2)."""
    digest = hashlib.sha256(f"{seed}\x1f{name}".encode("utf-8")).digest()
    out = list(items)
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(out)
    return out


def _units(questions: Sequence[Question]) -> list[tuple[str, list[Question]]]:
    """Questions as the page shows them: alone, or a matrix's rows together under its id."""
    units: list[tuple[str, list[Question]]] = []
    for question in questions:
        if question.group is not None and units and units[-1][1][0].group is question.group:
            units[-1][1].append(question)
        else:
            units.append((question.group.id if question.group is not None else question.id, [question]))
    return units


def page_order(page: Page, seed: str) -> dict[str, list[str]]:
    """The display order of everything randomized on ``page`` for the response ``seed``
    (empty when nothing on it is randomized). Computed over all of the page's questions,
    so a question hidden by ``show_if`` does not change where the others go."""
    order: dict[str, list[str]] = {}
    units = _units(page.questions)
    if page.randomize:
        order[f"page:{page.id}"] = shuffled(seed, f"page:{page.id}", [name for name, _ in units])
    for name, members in units:
        group = members[0].group
        if group is not None and group.randomize:
            order[group.id] = shuffled(seed, group.id, [q.id for q in members])
        elif group is None and members[0].randomize:
            question = members[0]
            order[question.id] = shuffled(seed, question.id, [str(o.value) for o in question.options])
    return order


def arrange(page: Page, questions: Sequence[Question], order: Mapping[str, Sequence[str]]) -> list[Question]:
    """``questions`` (the visible ones of ``page``) in the page's and matrices' display order;
    options are left to the markup (``order[question.id]``)."""
    units = _units(questions)
    ranks = {name: rank for rank, name in enumerate(order.get(f"page:{page.id}", ()))}
    units.sort(key=lambda unit: ranks.get(unit[0], len(ranks)))  # stable: unknown ids keep file order
    out: list[Question] = []
    for name, members in units:
        rows = order.get(name) if members[0].group is not None else None
        if rows:
            rank = {row: i for i, row in enumerate(rows)}
            members = sorted(members, key=lambda q: rank.get(q.id, len(rank)))
        out.extend(members)
    return out


def block_orders(questionnaire: Questionnaire, seed: str) -> dict[str, list[str]]:
    """``{"block:<id>": [page ids in the order shown]}`` for each of the questionnaire's
    blocks, for the response ``seed`` (empty when it declares none)."""
    return dict(_block_order(block, seed) for block in questionnaire.blocks)


def _block_order(block: PageBlock, seed: str) -> tuple[str, list[str]]:
    return f"block:{block.id}", shuffled(seed, f"block:{block.id}", block.pages)


def page_sequence(questionnaire: Questionnaire, seed: str) -> tuple[int, ...]:
    """Indexes into ``questionnaire.pages`` in the order the response ``seed`` is shown them:
    file order, each block's run of pages replaced by its shuffled order."""
    if not questionnaire.blocks:
        return tuple(range(len(questionnaire.pages)))
    index = {page.id: i for i, page in enumerate(questionnaire.pages)}
    sequence = list(range(len(questionnaire.pages)))
    for page_ids in block_orders(questionnaire, seed).values():
        start = min(index[page_id] for page_id in page_ids)
        sequence[start:start + len(page_ids)] = [index[page_id] for page_id in page_ids]
    return tuple(sequence)


def block_order_of_page(questionnaire: Questionnaire, page: Page, seed: str) -> dict[str, list[str]]:
    """The display order of the block ``page`` belongs to, as :func:`block_orders` gives it
    (empty when the page is in no block): recorded when one of its pages is shown."""
    block = next((block for block in questionnaire.blocks if page.id in block.pages), None)
    return dict([_block_order(block, seed)]) if block is not None else {}
