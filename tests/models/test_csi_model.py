import pytest

import questionnaires
from models import TEMPLATES, get_template, load_questionnaire, parse_model
from models.errors import ModelSpecError, ModelSyntaxError

ACSI_TEXT = """
# the ACSI chain
expectations =~ exp1 + exp2 + exp3
quality =~ q1 + q2 + q3
value <~ v1 + v2          # formative
satisfaction =~ s1 + s2 + s3
quality ~ expectations
value ~ expectations + quality
satisfaction ~ expectations + quality + value
s1 ~~ s2
"""


def test_parses_blocks_modes_paths_and_covariances():
    model = parse_model(ACSI_TEXT)
    assert model.construct_names == ("expectations", "quality", "value", "satisfaction")
    assert model.construct("value").is_formative and not model.construct("quality").is_formative
    assert model.predecessors("satisfaction") == ("expectations", "quality", "value")
    assert model.successors("expectations") == ("quality", "value", "satisfaction")
    assert model.exogenous == ("expectations",)
    assert model.covariances == (("s1", "s2"),)
    assert parse_model(model.to_text()) == model


def test_fixed_values_labels_and_free_markers_mean_what_lavaan_says():
    model = parse_model("F =~ 1*x1 + a*x2 + a*x3 + NA*x4\nG =~ y1 + y2\nG ~ -0.5*F\n"
                        "y1 ~~ 0*y1\nF ~~ G\nx1 ~~ 2.5e-1*x2")
    assert model.modifier("=~", "F", "x1").value == 1.0
    assert model.modifier("=~", "F", "x2").label == model.modifier("=~", "F", "x3").label == "a"
    assert model.modifier("=~", "F", "x4").free
    assert model.modifier("~", "G", "F").value == -0.5
    assert model.modifier("~~", "y1", "y1").value == 0.0
    assert model.modifier("~~", "x1", "x2").value == 0.25
    assert model.modifier("=~", "G", "y1") is None
    assert ("F", "G") in model.covariances and ("y1", "y1") in model.covariances
    assert parse_model(model.to_text()) == model


def test_measurement_only_model_has_constructs_without_paths():
    model = parse_model("a =~ x1 + x2\nb =~ y1 + y2\nc =~ z1\nb ~ a\n")
    assert model.unconnected == ("c",)


def test_semicolons_and_unicode_names():
    model = parse_model("满意度 =~ a + b; 忠诚度 =~ c + d; 忠诚度 ~ 满意度")
    assert model.paths == (("满意度", "忠诚度"),)


@pytest.mark.parametrize("text, line, token, message", [
    ("a =~ x1 + x2\nb =~ y1\nb ~ a +\n", 3, "+", "empty term between '+' signs"),
    ("a =~ x1 + x2\nb =~ y1\nb ~ a c\n", 3, "c", "unexpected token 'c': separate terms with '+'"),
    ("a =~ x1 + 0.5**x2\n", 1, "0.5**x2", "more than one modifier in '0.5**x2'"),
    ("a =~ x1 + 1e999*x2\n", 1, "1e999", "fixed value '1e999' in '1e999*x2' is not a finite number"),
    ("a =~ x1 + (2)*x2\n", 1, "(2)", "'(2)' in '(2)*x2' is neither a number nor a label"),
    ("a =~ x1 + 2*\n", 1, "2*", "'' is not a valid name"),
    ("a =~ x1 + 2*x2\na =~ 3*x2\n", 2, "x2", "a =~ x2 has a second modifier (first on line 1)"),
    ("a <~ x1 + 2*x2\n", 1, "x2", "fixed values and labels apply to =~, ~ and ~~, not to formative blocks"),
    ("a =~ x1\nb =~ y1\nb ~ a\nc ~ a\n", 4, "c", "'c' in a structural path is not a construct defined with =~ or <~"),
    ("a =~ x1\nb := a\n", 2, "b", "no operator in 'b := a'"),
    ("a =~ x1 + x1\n", 1, "x1", "'x1' is listed twice"),
    ("a =~ x1\na <~ x2\n", 2, "<~", "'a' is defined as reflective on line 1 and formative here"),
    ("=~ x1\n", 1, "=~", "nothing before '=~'"),
    ("a =~\n", 1, "=~", "nothing after '=~'"),
    ("a =~ x1 ~ x2\n", 1, "~", "a second operator '~' in one statement"),
])
def test_syntax_errors_name_line_and_token(text, line, token, message):
    with pytest.raises(ModelSyntaxError) as info:
        parse_model(text, source="m.txt")
    assert info.value.line == line
    assert info.value.token == token
    assert message in str(info.value)
    assert str(info.value).startswith(f"m.txt:{line}: ")


@pytest.mark.parametrize("text, message", [
    ("a =~ x1\nb =~ y1\nb ~ a\nx1 ~~ b\n", "covariance x1 ~~ b joins a construct and an item"),
    ("a =~ x1 + x2\nx1 ~~ x2\nx2 ~~ x1\n", "the covariance x1 ~~ x2 is written twice"),
    ("a =~ x1 + x1*x2\n", "label 'x1' is also a construct or item name"),
    ("a =~ x1\nb =~ y1\nb ~ a\na ~ b\n", "the structural model has a cycle (a -> b -> a)"),
    ("a =~ x1 + x2\nb =~ x2\nb ~ a\n", "item 'x2' is in two blocks: 'a' and 'b'"),
    ("a =~ x1\nb =~ a\nb ~ a\n", "higher-order construct 'b' has a single lower-order construct ('a')"),
    ("a =~ x1\nc =~ y1\nb =~ a + c\nd =~ z1\ne =~ w1\ne ~ b + d + a:d\n",
     "'a' is a dimension of higher-order construct 'b' and also in the interaction term a:d"),
    ("a =~ x1\nb =~ y1\nb ~ a\nx1 ~~ q\n", "covariance x1 ~~ q: 'q' is neither a construct nor an item"),
    ("# nothing\n", "no construct defined"),
])
def test_consistency_errors(text, message):
    with pytest.raises(ModelSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_model(text)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_are_recursive_cite_sources_and_bind(name):
    template = get_template(name)
    assert template.citation and any(year in template.citation for year in ("1992", "1996", "1998", "2002", "2005"))
    hocs = dict(template.higher_order)
    items = {c: [f"{c}_{k}" for k in range(3)] for c in template.constructs if c not in hocs}
    model = template.bind(items)
    assert set(model.construct_names) == set(template.constructs)
    assert len(model.paths) == len(template.paths)
    assert model.endogenous  # a recursive order exists (Model checks for cycles)


def test_acsi_template_paths_follow_fornell_1996():
    assert set(get_template("acsi").paths) == {
        ("expectations", "perceived_quality"), ("expectations", "perceived_value"), ("perceived_quality", "perceived_value"),
        ("expectations", "satisfaction"), ("perceived_quality", "satisfaction"), ("perceived_value", "satisfaction"),
        ("satisfaction", "complaints"), ("satisfaction", "loyalty"), ("complaints", "loyalty")}


def test_ecsi_adds_image_and_drops_complaints():
    constructs = set(get_template("ecsi").constructs)
    assert "image" in constructs and "complaints" not in constructs


def test_bind_names_missing_constructs_and_unknown_templates():
    with pytest.raises(ModelSpecError, match="needs items for: complaints, loyalty"):
        get_template("scsb").bind({"expectations": ["e"], "perceived_value": ["v"], "satisfaction": ["s"]})
    with pytest.raises(ModelSpecError, match="unknown model template 'nps'"):
        get_template("nps")


def test_questionnaire_model_from_construct_tags():
    q = load_questionnaire(questionnaires.path("ccsi_mobile"))
    model = q.csi_model()
    assert model.name == "ccsi"
    assert model.construct("brand_image").items == ("img_trust", "img_innovative", "img_responsible", "img_reputation")
    assert "total_customer_value" not in model.construct_names  # optional block outside the template
