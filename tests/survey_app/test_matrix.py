"""A matrix page through the web: one grid, a fieldset per row, each row posted, validated
and stored as an ordinary rating answer."""
import re
from html.parser import HTMLParser

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.storage import load_wave_frame
from models.storage.tables import Answer, Response

from ..matrix_questionnaire import QUESTIONNAIRE
from .conftest import Respondent

ROWS = ["q_staff", "q_advice", "q_range", "q_clean", "q_wait", "q_returns", "q_parking"]


class Structure(HTMLParser):
    """Fieldsets with their legends and the radio names inside each."""

    def __init__(self):
        super().__init__()
        self.fieldsets: list[dict] = []
        self.in_legend = False
        self.heads_hidden = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "fieldset":
            self.fieldsets.append({"id": attrs.get("id"), "legend": "", "radios": set()})
        elif tag == "legend":
            self.in_legend = True
        elif tag == "input" and attrs.get("type") == "radio" and self.fieldsets:
            self.fieldsets[-1]["radios"].add(attrs["name"])
        elif tag == "div" and "grid-heads" in attrs.get("class", ""):
            self.heads_hidden = attrs.get("aria-hidden") == "true"

    def handle_endtag(self, tag):
        if tag == "legend":
            self.in_legend = False

    def handle_data(self, data):
        if self.in_legend:
            self.fieldsets[-1]["legend"] += data


def test_the_grid_is_a_fieldset_per_row_with_its_own_legend_and_radios(client, grid):
    person = Respondent(client, grid)
    page = person.start(survey="grid-retail", wave="W1")
    assert page.status == 200 and page.question_ids == ROWS
    structure = Structure()
    structure.feed(page.text)
    assert [f["id"] for f in structure.fieldsets] == [f"q-{row}" for row in ROWS]
    assert [f["radios"] for f in structure.fieldsets] == [{row} for row in ROWS]
    assert structure.fieldsets[0]["legend"] == "Friendliness of the staff"
    assert structure.heads_hidden  # column heads are for the eye; each radio's label says it all
    assert 'role="group" aria-labelledby="aspects-text"' in page.text
    # Each radio's label carries the point and its label, so a screen reader hears "1 Very poor".
    assert re.search(r'value="1" required aria-invalid="false"><span class="face"><span class="num">1</span>'
                     r'<span class="word"> Very poor</span>', page.text)
    assert page.text.count('value="99"') == len(ROWS)  # a don't-know per row
    zh = person.get(page.url + "?lang=zh-CN")
    assert "员工的友好程度" in zh.text and "请就以下质量方面为我们评分" in zh.text and "非常差" in zh.text


def test_errors_are_per_row_and_answers_are_kept(client, grid, engine):
    person = Respondent(client, grid)
    page = person.start(survey="grid-retail", wave="W1")
    again = person.answer(page, overrides={"q_advice": None, "q_parking": None, "q_staff": "3", "q_wait": "99"})
    assert again.status == 422
    assert re.findall(r'<p class="error" id="([a-z_]+)-error">Please answer this question.</p>', again.text) == \
        ["q_advice", "q_parking"]
    assert re.findall(r'<fieldset class="grid-row has-error" id="q-([a-z_]+)"', again.text) == ["q_advice", "q_parking"]
    assert 'aria-describedby="q_advice-error"' in again.text
    assert again.checked("q_staff") == ["3"] and again.checked("q_wait") == ["99"] and again.checked("q_advice") == []
    with Session(engine) as session:
        assert session.scalars(select(Answer.question_id)).all() == []
    # A value no rendered grid offers is refused outright.
    refused = person.answer(again, overrides={"q_advice": "11", "q_parking": "4"})
    assert refused.status == 400


def test_a_matrix_page_is_stored_as_one_answer_per_row_and_read_back(client, grid, engine):
    answers = dict(zip(ROWS, ["9", "8", "7", "99", "2", "10", "1"]))
    person = Respondent(client, grid, {**answers, "s_price": "4", "s_hours": None, "s_app": None, "comment": None})
    page = person.start(survey="grid-retail", wave="W1")
    second = person.answer(page)
    assert second.question_ids == ["s_price", "s_hours", "s_app", "comment"]
    back = person.answer(second, nav="back")  # the grid shows the stored answers again
    assert all(back.checked(row) == [value] for row, value in answers.items())
    done = person.finish(back)
    assert "/done" in done.url
    with Session(engine) as session:
        stored = dict(session.execute(select(Answer.question_id, Answer.value_num)).all())
        assert session.scalar(select(Response.status)) == "complete"
    assert stored == {**{row: float(v) for row, v in answers.items()}, "s_price": 4.0}  # optional rows left out
    frame = load_wave_frame(engine, "grid-retail", "W1")
    assert frame.loc[frame.index[0], ROWS].tolist() == [9, 8, 7, 99, 2, 10, 1]


def test_csi_validate_reports_bad_matrix_rows_with_file_and_line(tmp_path):
    from .test_cli import csi

    bad = tmp_path / "grid.yaml"
    bad.write_text(QUESTIONNAIRE
                   .replace("{id: q_advice,", "{id: q_staff,")
                   .replace("{id: q_range, construct: perceived_quality, text: {en: Range of products, zh-CN: 商品种类}}",
                            "{id: q_range, construct: perceived_quality, text: {en: Range of products}}")
                   .replace("        scale: five\n", ""), encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(QUESTIONNAIRE, encoding="utf-8")
    result = csi("validate", str(bad), str(good))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{bad}:42: pages[1].questions[0]: missing required field 'scale'",
        f"{good}: ok: grid-retail v1: 11 questions (10 rating items), 2 constructs, 2 pages, languages en, zh-CN",
    ]  # structure first: the semantic checks wait until the structure is right
    bad.write_text(bad.read_text(encoding="utf-8").replace("        type: matrix\n        required: false",
                                                           "        type: matrix\n        scale: five\n        required: false"),
                   encoding="utf-8")
    result = csi("validate", str(bad))
    assert result.stdout.splitlines() == [
        f"{bad}:34: pages[0].questions[0].rows[1].id: duplicate question id 'q_staff' (also pages[0].questions[0].rows[0])",
        f"{bad}:35: pages[0].questions[0].rows[2].text: missing translation for 'zh-CN'",
    ]
