"""The questionnaire loader: shipped files load; each kind of error gives its exact message."""
import json
import textwrap

import jsonschema
import pytest

import questionnaires
from models.errors import QuestionnaireError
from models.questionnaire import load_questionnaire, parse_questionnaire, questionnaire_schema

BASE = textwrap.dedent("""\
    id: mini
    version: 1
    default_language: en
    languages: [en, zh-CN]
    title: {en: Mini, zh-CN: 迷你}
    scales:
      ten:
        min: 1
        max: 10
        dont_know: {code: 99, label: {en: Don't know, zh-CN: 不知道}}
    pages:
      - id: p1
        questions:
          - id: sat1
            type: rating
            scale: ten
            construct: satisfaction
            text: {en: "Satisfied?", zh-CN: 满意吗？}
          - id: sat2
            type: rating
            scale: ten
            construct: satisfaction
            text: {en: "Versus expectations?", zh-CN: 与预期相比？}
      - id: p2
        questions:
          - id: channel
            type: single_choice
            text: {en: Channel, zh-CN: 渠道}
            options:
              - {value: store, label: {en: Store, zh-CN: 门店}}
              - {value: web, label: {en: Web, zh-CN: 网站}}
          - id: why
            type: text
            required: false
            show_if: "sat1 <= 4"
            text: {en: "Why?", zh-CN: 为什么？}
    follow_up:
      - when: "sat1 <= 4"
    """)


def load(text: str, name: str = "q.yaml"):
    return parse_questionnaire(text, name)


def problems_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as info:
        load(text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", questionnaires.SHIPPED)
def test_shipped_questionnaires_load_and_bind_their_model(name):
    q = load_questionnaire(questionnaires.path(name))
    model = q.csi_model()
    assert set(q.languages) == {"en", "zh-CN"}
    for construct in model.constructs:
        if construct.name != "complaints":
            assert len(construct.items) >= 3, construct.name
    # ACSI's three satisfaction items, a 0-10 recommend item, and the customer-delivered-value block.
    assert q.constructs()["satisfaction"] == ("sat_overall", "sat_vs_expectations", "sat_vs_ideal")
    assert any(x.scale.kind == "nps" and (x.scale.minimum, x.scale.maximum) == (0, 10) for x in q.rating_items)
    assert len(q.constructs()["total_customer_value"]) == 4 and len(q.constructs()["total_customer_cost"]) == 4
    assert q.question("loy_competitor_offers").reverse
    assert q.follow_up


@pytest.mark.parametrize("name", questionnaires.SHIPPED)
def test_shipped_questionnaires_pass_the_json_schema(name):
    import yaml
    data = yaml.safe_load(questionnaires.path(name).read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))
    for scale in data["scales"].values():  # JSON keys are strings, as editors see them
        if "labels" in scale:
            scale["labels"] = {str(k): v for k, v in scale["labels"].items()}
    jsonschema.Draft202012Validator(questionnaire_schema()).validate(data)


def test_base_fixture_is_valid():
    q = load(BASE)
    assert q.summary_line() == "mini v1: 4 questions (2 rating items), 1 constructs, 2 pages, languages en, zh-CN"
    assert q.question("why").show_if.evaluate({"sat1": 3})
    assert q.scales["ten"].dont_know_code == 99
    assert q.title.get("zh-CN") == "迷你" and q.title.get("fr") == "Mini"


def test_json_is_accepted_with_line_numbers(tmp_path):
    import yaml
    data = yaml.safe_load(BASE)
    data["pages"][0]["questions"][0]["scale"] = "likert11"
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(path)
    (problem,) = info.value.problems
    assert problem.path == "pages[0].questions[0].scale"
    assert problem.message == "unknown scale 'likert11' (defined scales: ten)"
    assert path.read_text().splitlines()[problem.line - 1].strip().startswith('"scale"')


def test_content_hash_changes_with_content():
    assert load(BASE).content_hash == load(BASE).content_hash
    assert load(BASE).content_hash != load(BASE.replace("Mini", "Maxi")).content_hash


@pytest.mark.parametrize("mutation, expected", [
    (("scale: ten\n        construct: satisfaction\n        text: {en: \"Satisfied?",
      "scale: likert11\n        construct: satisfaction\n        text: {en: \"Satisfied?"),
     "q.yaml:16: pages[0].questions[0].scale: unknown scale 'likert11' (defined scales: ten)"),
    (("- id: sat2", "- id: sat1"),
     "q.yaml:19: pages[0].questions[1].id: duplicate question id 'sat1' (also pages[0].questions[0])"),
    (('show_if: "sat1 <= 4"', 'show_if: "sat9 <= 4"'),
     "q.yaml:35: pages[1].questions[1].show_if: show_if refers to unknown question 'sat9'"),
    (('show_if: "sat1 <= 4"', 'show_if: "channel == \'web\'"'),
     "q.yaml:35: pages[1].questions[1].show_if: show_if refers to 'channel', which is asked later or in the same place; it can only use earlier answers"),
    (('show_if: "sat1 <= 4"', 'show_if: "sat1 <="'),
     "q.yaml:35: pages[1].questions[1].show_if: show_if: expected a value, a question id or '(' but found 'end of expression' (at character 8)"),
    (("zh-CN: 满意吗？}", "fr: Satisfait}"),
     "q.yaml:18: pages[0].questions[0].text: missing translation for 'zh-CN'"),
    (("type: text", "type: essay"),
     "q.yaml:33: pages[1].questions[1].type: 'essay' is not one of: rating, single_choice, multiple_choice, text, number, matrix"),
    (("required: false", "requird: false"),
     "q.yaml:34: pages[1].questions[1].requird: unknown field 'requird' (allowed: construct, help, id, integer, max, max_length, max_selected, min, multiline, options, randomize, required, reverse, rows, scale, segment, show_if, text, type)"),
    (("    min: 1\n", ""), "q.yaml:7: scales.ten: missing required field 'min'"),
    (("max: 10", "max: ten"), "q.yaml:9: scales.ten.max: expected integer, got str 'ten'"),
    (("code: 99", "code: 5"),
     "q.yaml:10: scales.ten.dont_know.code: don't-know code 5 is inside the scale 1..10; use a value outside it (e.g. 99)"),
    (("{value: web,", "{value: store,"), "q.yaml:31: pages[1].questions[0].options[1].value: duplicate option value 'store'"),
    (('- when: "sat1 <= 4"', '- when: "sat1 <<= 4"'),
     "q.yaml:38: follow_up[0].when: follow-up rule: expected a value, a question id or '(' but found '<=' (at character 7)"),
    (("version: 1\n", "version: 1\nversion: 2\n"), "q.yaml:3: version: duplicate key 'version' (first on line 2)"),
    (("title: {en: Mini", "title: {en: [Mini"), "q.yaml:5: YAML syntax error:"),
    (("        text: {en: Channel, zh-CN: 渠道}\n", "        text: {en: Channel, zh-CN: 渠道}\n        scale: ten\n"),
     "q.yaml:29: pages[1].questions[0].scale: field 'scale' does not apply to a single_choice question"),
])
def test_each_error_kind_has_its_exact_message(mutation, expected):
    old, new = mutation
    assert old in BASE, old
    problems = problems_of(BASE.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once():
    text = BASE.replace("scale: ten\n        construct: satisfaction\n        text: {en: \"Satisfied?",
                        "scale: nope\n        construct: satisfaction\n        text: {en: \"Satisfied?")
    text = text.replace("- id: sat2", "- id: sat1").replace('show_if: "sat1 <= 4"', 'show_if: "zzz > 1"')
    problems = problems_of(text)
    assert len(problems) == 3
    assert [p.split(":")[1] for p in problems] == sorted((p.split(":")[1] for p in problems), key=int)


def test_model_section_checks_construct_sizes():
    text = BASE + "model:\n  text: |\n    satisfaction =~ sat1 + sat2\n    loyalty =~ sat1\n"
    problems = problems_of(text)
    assert any("item 'sat1' is in two blocks" in p for p in problems), problems
    text = BASE + "model:\n  template: acsi\n"
    problems = problems_of(text)
    assert "q.yaml:40: model.template: the ACSI model needs construct 'expectations', but no rating question is tagged with it" in problems
    assert "q.yaml:39: model: construct 'satisfaction' has 2 items; the model needs at least 3 (or list it under model.single_item)" in problems


def test_model_names_are_texts_per_language_of_constructs_in_the_model():
    text = BASE + ("model:\n  text: |\n    satisfaction =~ sat1 + sat2\n  min_items: 2\n"
                   "  names:\n    satisfaction: {en: overall satisfaction, zh-CN: 总体满意度}\n")
    names = load(text).model_spec.names
    assert (names["satisfaction"].get("en"), names["satisfaction"].get("zh-CN")) == ("overall satisfaction", "总体满意度")
    problems = problems_of(text.replace("    satisfaction: {en: overall", "    loyalty: {en: overall"))
    assert problems == ["q.yaml:44: model.names.loyalty: construct 'loyalty' is not in the model; "
                        "its constructs: satisfaction"], problems


@pytest.mark.parametrize("content, expected", [
    ("", "q.yaml:1: the file is empty"),
    ("- a\n- b\n", "q.yaml:1: the top level must be a mapping"),
    ("a: &x [*x]\n", "q.yaml"),
])
def test_degenerate_documents(content, expected):
    problems = problems_of(content)
    assert problems[0].startswith(expected), problems


def test_alias_bomb_is_bounded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    problems = problems_of("\n".join(lines) + "\n")
    assert any("expands to more than" in p for p in problems)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(QuestionnaireError, match="cannot read file"):
        load_questionnaire(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"id: x\ntitle: \xff\xfe\n")
    with pytest.raises(QuestionnaireError, match="bad.yaml:2: file is not valid UTF-8"):
        load_questionnaire(bad)


@pytest.mark.parametrize("name", questionnaires.SHIPPED)
def test_shipped_cost_items_use_cost_anchors_in_both_languages(name):
    q = load_questionnaire(questionnaires.path(name))
    cost_items = q.constructs()["total_customer_cost"]
    assert len(cost_items) == 4
    for item in cost_items:
        scale = q.question(item).scale
        assert (scale.minimum, scale.maximum) == (1, 10) and not scale.quality_anchors
        assert scale.labels[1].values == {"en": "Very low cost", "zh-CN": "成本非常低"}
        assert scale.labels[10].values == {"en": "Very high cost", "zh-CN": "成本非常高"}
    assert q.warnings == ()


COST_ON_QUALITY = BASE.replace(
    "  ten:\n    min: 1\n    max: 10\n",
    "  ten:\n    min: 1\n    max: 10\n    labels:\n      1: {en: Very poor, zh-CN: 非常差}\n"
    "      10: {en: Excellent, zh-CN: 非常好}\n",
).replace(
    '    construct: satisfaction\n        text: {en: "Versus expectations?"',
    '    construct: total_customer_cost\n        text: {en: "Versus expectations?"',
)


def test_cost_item_on_a_quality_scale_is_a_warning_not_an_error():
    q = parse_questionnaire(COST_ON_QUALITY, "q.yaml")
    assert [str(w) for w in q.warnings] == [
        "q.yaml:24: pages[0].questions[1].scale: warning: 'sat2' measures cost (total_customer_cost) on scale 'ten', "
        "whose anchors rate quality ('Very poor' ... 'Excellent'), so a high answer has no direction for delivered "
        "value (value - cost); give cost items a scale such as 1 = very low cost ... 10 = very high cost"]
    assert q.question("sat1").scale.quality_anchors


def hoc_questionnaire(model: str, constructs: dict[str, int]) -> str:
    questions = "".join(
        f"          - {{id: {c}{k}, type: rating, scale: ten, construct: {c}, text: {{en: '{c} {k}', zh-CN: '{c} {k}'}}}}\n"
        for c, count in constructs.items() for k in range(1, count + 1))
    return textwrap.dedent("""\
        id: hoc
        version: 1
        default_language: en
        languages: [en, zh-CN]
        title: {en: HOC, zh-CN: 高阶}
        scales:
          ten: {min: 1, max: 10}
        pages:
          - id: p1
            questions:
        """) + questions + model


ECSI_HOC_CONSTRUCTS = {"image": 3, "expectations": 3, "product_quality": 3, "service_quality": 3,
                       "perceived_value": 3, "satisfaction": 3, "loyalty": 3}


def test_questionnaire_with_the_ecsi_hoc_template():
    q = load(hoc_questionnaire("model: {template: ecsi_hoc, formative: [perceived_quality]}\n", ECSI_HOC_CONSTRUCTS))
    model = q.csi_model()
    assert model.construct("perceived_quality").items == ("product_quality", "service_quality")
    assert model.construct("perceived_quality").is_formative
    tagged = hoc_questionnaire("model: {template: ecsi_hoc}\n", {**ECSI_HOC_CONSTRUCTS, "perceived_quality": 3})
    assert any("measures 'perceived_quality' by product_quality and service_quality: tag its questions with those "
               "constructs instead" in p for p in problems_of(tagged))


def test_questionnaire_with_a_higher_order_model_text():
    text = ("model:\n  text: |\n    A =~ a1 + a2 + a3\n    B =~ b1 + b2 + b3\n    H =~ A + B\n"
            "    Y =~ y1 + y2 + y3\n    Y ~ H\n")
    q = load(hoc_questionnaire(text, {"a": 3, "b": 3, "y": 3}))
    assert q.csi_model().higher_order == {"H": ("A", "B")}
    bad = text.replace("H =~ A + B", "H =~ A + b9")
    assert any("'H' mixes constructs (A) and items (b9)" in p for p in problems_of(hoc_questionnaire(bad, {"a": 3, "b": 3, "y": 3})))


def test_declared_segments_and_a_segment_on_free_text_is_an_error_with_its_line():
    declared = BASE.replace("        type: single_choice\n",
                            "        type: single_choice\n        segment: true\n")
    assert load(declared).segment_ids == ("channel",)
    assert load(BASE).segment_ids == ()
    on_text = BASE.replace("        type: text\n", "        type: text\n        segment: true\n")
    assert problems_of(on_text) == [
        "q.yaml:34: pages[1].questions[1].segment: a text question cannot be a segment (free-text answers are not "
        "groups); declare segment: true on a single_choice, rating, number question"]
    not_boolean = BASE.replace("        type: single_choice\n",
                               "        type: single_choice\n        segment: yes please\n")
    assert problems_of(not_boolean) == ["q.yaml:28: pages[1].questions[0].segment: expected boolean, got str 'yes please'"]
