"""Blocks of pages shown in an order of each response's own: the order a pure function of
the response's seed, navigation (next, previous, resume, show_if) following it, and the
validator refusing blocks that are not runs of pages or whose pages read one another."""
import pytest

from models import navigation
from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire
from models.randomization import block_order_of_page, block_orders, page_sequence

from ..block_questionnaire import BLOCK_YAML

START, A, B, C, CLOSE = range(5)


@pytest.fixture(scope="module")
def questionnaire():
    return parse_questionnaire(BLOCK_YAML, "blocks.yaml")


def walk(questionnaire, answers, order):
    """The pages a respondent is shown, first to last, by following ``next_page``."""
    pages, index = [], navigation.next_page(questionnaire, answers, -1, order)
    while index is not None:
        pages.append(index)
        index = navigation.next_page(questionnaire, answers, index, order)
    return pages


# The seeds' orders (SHA-256 of seed and "block:brands" seeding Python's Mersenne Twister;
# the same on every platform): recomputing them must give these for ever, as stored
# responses were navigated by them.
@pytest.mark.parametrize("seed, sequence, shown", [
    ("3", (START, C, A, B, CLOSE), ["brand_c", "brand_a", "brand_b"]),
    ("4", (START, C, B, A, CLOSE), ["brand_c", "brand_b", "brand_a"]),
])
def test_two_seeds_give_their_own_page_order_and_navigation_follows_it(questionnaire, seed, sequence, shown):
    assert [b.id for b in questionnaire.blocks] == ["brands"]
    assert page_sequence(questionnaire, seed) == sequence
    assert block_orders(questionnaire, seed) == {"block:brands": shown}
    assert block_order_of_page(questionnaire, questionnaire.pages[B], seed) == {"block:brands": shown}
    assert block_order_of_page(questionnaire, questionnaire.pages[START], seed) == {}
    answers = {"visits": 2, "rate_a": 3, "rate_c": 9}
    assert walk(questionnaire, answers, sequence) == list(sequence)
    assert navigation.visible_pages(questionnaire, answers, sequence) == list(sequence)
    # Back from each page goes to the one shown before it, not to the file's previous page.
    assert [navigation.previous_page(questionnaire, answers, i, sequence) for i in sequence] == [None, *sequence[:-1]]
    # show_if still hides pages, in the shuffled order: no visits, no brand B.
    no_visits = {"visits": 0, "rate_a": 8, "rate_c": 8}
    assert walk(questionnaire, no_visits, sequence) == [i for i in sequence if i not in (B, CLOSE)]
    last_block_page = sequence[3]
    # The block's last page shown decides whether "close" (which reads rate_a and rate_c) follows.
    assert not navigation.is_last_page(questionnaire, no_visits, last_block_page, sequence)


def test_file_order_when_nothing_is_shuffled(questionnaire):
    assert walk(questionnaire, {"visits": 1, "rate_a": 1}, None) == [START, A, B, C, CLOSE]
    assert page_sequence(parse_questionnaire(BLOCK_YAML.split("blocks:")[0], "b.yaml"), "3") == (0, 1, 2, 3, 4)


def test_resume_after_leaving_in_the_middle_of_the_block(questionnaire):
    order = page_sequence(questionnaire, "3")  # start, brand_c, brand_a, brand_b, close
    answers = {"visits": 1, "rate_c": 7}  # left on brand_a, the block's second page, after answering brand_c
    furthest = navigation.next_page(questionnaire, answers, C, order)
    assert furthest == A
    assert navigation.resume_page(questionnaire, answers, furthest, order) == A
    # Reached: what came before brand_a in this response's order (brand_c, index 3, though it
    # comes after brand_a in the file), not what comes after it (brand_b, index 2).
    assert [navigation.reached(questionnaire, i, furthest, order) for i in range(5)] == [True, True, False, True, False]
    # Going on from brand_a to brand_b moves the furthest page on; coming back to brand_c does not.
    assert navigation.furthest_of(questionnaire, furthest, B, order) == B
    assert navigation.furthest_of(questionnaire, furthest, C, order) == A
    # Left on the block's last page of its order, a page that later answers hide: on after the block.
    assert navigation.resume_page(questionnaire, {"visits": 0, "rate_c": 7, "rate_a": 3}, B, order) == CLOSE
    assert navigation.resume_page(questionnaire, {"visits": 0, "rate_c": 7, "rate_a": 7}, B, order) is None


def refused(yaml_text):
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(yaml_text, "blocks.yaml")
    return [str(p) for p in info.value.problems]


BLOCK_LINE = "  - {id: brands, pages: [brand_a, brand_b, brand_c]}\n"


@pytest.mark.parametrize("blocks, message", [
    ("  - {id: brands, pages: [brand_a, brand_c]}\n",
     "blocks.yaml:27: blocks[0].pages: the pages of a block must follow one another, but page 'brand_b' comes "
     "between them and is not in the block"),
    ("  - {id: brands, pages: [brand_a, brand_d]}\n",
     "blocks.yaml:27: blocks[0].pages[1]: unknown page 'brand_d' (pages: start, brand_a, brand_b, brand_c, close)"),
    ("  - {id: brands, pages: [brand_a, brand_a]}\n",
     "blocks.yaml:27: blocks[0].pages[1]: page 'brand_a' is listed twice"),
    (BLOCK_LINE + "  - {id: more, pages: [brand_c, close]}\n",
     "blocks.yaml:28: blocks[1].pages[0]: page 'brand_c' is already in block 'brands'; blocks cannot overlap"),
    (BLOCK_LINE + "  - {id: brands, pages: [start, close]}\n",
     "blocks.yaml:28: blocks[1].id: duplicate block id 'brands'"),
    ("  - {id: brands, pages: [brand_a]}\n",
     "blocks.yaml:27: blocks[0].pages: needs at least 2 entries"),
    ("  - {id: brands, pages: [brand_a, brand_b], shuffle: no}\n",
     "blocks.yaml:27: blocks[0].shuffle: unknown field 'shuffle' (allowed: id, pages)"),
])
def test_bad_blocks_are_refused_with_file_line_and_path(blocks, message):
    assert refused(BLOCK_YAML.replace(BLOCK_LINE, blocks)) == [message]


def test_a_block_page_may_not_read_an_answer_from_another_page_of_its_block():
    text = BLOCK_YAML.replace('show_if: "visits > 0"', 'show_if: "rate_a > 0"').replace(
        "Rate brand C, zh-CN: 给品牌C评分}", '"Rate brand C (A: {rate_a})", zh-CN: "给品牌C评分（A：{rate_a}）"}')
    assert refused(text) == [
        "blocks.yaml:16: pages[2].show_if: reads 'rate_a', asked on page 'brand_a' of the same block 'brands', whose "
        "pages come in an order of each response's own; move one of the two pages out of the block",
        "blocks.yaml:21: pages[3].questions[0].text.en: reads 'rate_a', asked on page 'brand_a' of the same block "
        "'brands', whose pages come in an order of each response's own; move one of the two pages out of the block",
        "blocks.yaml:21: pages[3].questions[0].text.zh-CN: reads 'rate_a', asked on page 'brand_a' of the same block "
        "'brands', whose pages come in an order of each response's own; move one of the two pages out of the block",
    ]


def test_the_live_view_counts_a_block_page_as_asked_of_those_who_reached_it_in_their_order(database_url, questionnaire):
    import pandas as pd
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire
    from models.storage.console import asked_counts
    from models.storage.tables import Response

    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    ids = bulk_insert_responses(engine, survey, wave, pd.DataFrame({"visits": [1] * 6}), status="partial")
    # Each response stands on the block's second page of its own order: it reached "start"
    # and the block's first two pages, whichever those are for it.
    orders = {rid: page_sequence(questionnaire, str(rid)) for rid in ids}
    with engine.begin() as connection:
        for rid, order in orders.items():
            connection.execute(update(Response).where(Response.id == rid).values(current_page=order[2]))
    with Session(engine) as session:
        asked = asked_counts(session, session.merge(wave), questionnaire)
    engine.dispose()
    expected = {f"rate_{page[-1]}": sum(index in order[:3] for order in orders.values())
                for index, page in ((A, "brand_a"), (B, "brand_b"), (C, "brand_c"))}
    assert asked == {"visits": 6, **expected, "why": 0}
    assert sum(expected.values()) == 12
    # Read in file order (current_page as "every page before it"), the counts would differ.
    assert expected != {f"rate_{page[-1]}": sum(order[2] >= index for order in orders.values())
                        for index, page in ((A, "brand_a"), (B, "brand_b"), (C, "brand_c"))}
