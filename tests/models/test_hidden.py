"""Hidden fields (models.hidden): declared in the questionnaire, read from links, signed."""
import textwrap

import pytest

from models import navigation
from models.errors import QuestionnaireError
from models.hidden import MAX_VALUE_LENGTH, HiddenRefused, read_hidden, signature, with_hidden
from models.questionnaire import parse_questionnaire
from tests.hidden_questionnaire import HIDDEN_YAML

SECRET = "s3cret-key"


@pytest.fixture(scope="module")
def q():
    return parse_questionnaire(HIDDEN_YAML, "hidden.yaml")


def test_declared_fields_load(q):
    assert [f.id for f in q.hidden] == ["store", "channel", "agent", "note"]
    store, channel, agent, _ = q.hidden
    assert store.segment and not store.signed and store.pattern.pattern == "S[0-9]{1,4}"
    assert channel.values == ("app", "web") and agent.signed
    assert q.segment_ids == ("hidden.store",)


def test_undeclared_parameters_are_ignored_and_empty_is_no_value(q):
    got = read_hidden(q.hidden, {"store": "S12", "channel": "", "utm_source": "x", "lang": "zh-CN"})
    assert got == {"store": "S12"}


@pytest.mark.parametrize("field, value", [
    ("store", "S12345"), ("store", "s12"), ("store", "S12\n"), ("store", "S1\x00"), ("channel", "APP"),
    ("channel", "<script>alert(1)</script>"), ("note", "x" * 10_000), ("note", "a\x00b"), ("note", "tab\there"),
    ("store", "Ｓ12"),  # a full-width S is not S
])
def test_a_declared_value_failing_its_rule_is_refused(q, field, value):
    with pytest.raises(HiddenRefused) as caught:
        read_hidden(q.hidden, {field: value})
    assert caught.value.reason == "invalid" and caught.value.field == field


def test_length_limit_is_inclusive(q):
    assert read_hidden(q.hidden, {"note": "é" * MAX_VALUE_LENGTH}) == {"note": "é" * MAX_VALUE_LENGTH}
    with pytest.raises(HiddenRefused):
        read_hidden(q.hidden, {"note": "é" * (MAX_VALUE_LENGTH + 1)})


def test_unicode_and_markup_pass_a_permissive_pattern_verbatim(q):
    value = "门店 <script>alert('x')</script> 🙂"
    assert read_hidden(q.hidden, {"note": value}) == {"note": value}


def test_signed_values_need_their_signature(q):
    values = {"agent": "alice", "store": "S1"}
    sig = signature(SECRET, "hidden-demo", "W1", q.hidden, {"agent": "alice"})
    ok = read_hidden(q.hidden, {**values, "sig": sig}, secret=SECRET, survey="hidden-demo", wave="W1")
    assert ok == values
    for bad in ({**values, "agent": "mallory", "sig": sig},  # tampered value
                {**values},  # no signature
                {**values, "sig": sig.upper()},  # not the same text
                {**values, "sig": "é" * 64},  # non-ASCII garbage: refused, not an exception
                {**values, "sig": ""}):
        with pytest.raises(HiddenRefused) as caught:
            read_hidden(q.hidden, bad, secret=SECRET, survey="hidden-demo", wave="W1")
        assert caught.value.reason == "signature" and caught.value.field == "agent"
    # Signed for another wave or another survey, or with another key: refused.
    for survey, wave, secret in (("hidden-demo", "W2", SECRET), ("other", "W1", SECRET), ("hidden-demo", "W1", "k2")):
        with pytest.raises(HiddenRefused):
            read_hidden(q.hidden, {**values, "sig": sig}, secret=secret, survey=survey, wave=wave)
    # No signed value given: no signature needed (the unsigned ones still pass).
    assert read_hidden(q.hidden, {"store": "S1"}, secret=SECRET, survey="hidden-demo", wave="W1") == {"store": "S1"}


def test_signature_is_hmac_sha256_of_the_documented_message():
    import hashlib
    import hmac

    from models.hidden import HiddenField
    fields = (HiddenField("agent", pattern=None, signed=True), HiddenField("store", values=("S1",)),
              HiddenField("desk", values=("1",), signed=True))
    expected = hmac.new(b"k", "s\x1fw\x1fagent=bob\x1fdesk=".encode(), hashlib.sha256).hexdigest()
    assert signature("k", "s", "w", fields, {"agent": "bob", "store": "S1"}) == expected


def test_expressions_and_rules_read_hidden_values(q):
    why, app_only = q.pages[1].questions
    assert app_only.show_if.names == ("hidden.channel",)
    assert navigation.question_visible(app_only, with_hidden({}, {"channel": "app"}))
    assert not navigation.question_visible(app_only, with_hidden({}, {"channel": "web"}))
    assert not navigation.question_visible(app_only, {})
    answers = with_hidden({"overall": 2, "fruit": "a", "app_only": 1}, {"channel": "app", "store": "S1"})
    done = navigation.completion(q, answers)
    assert done.follow_up and done.dropped == frozenset()
    assert done.answers == {"overall": 2, "fruit": "a", "app_only": 1}  # hidden values are no answers
    web = navigation.completion(q, with_hidden({"overall": 2, "fruit": "a", "app_only": 1}, {"channel": "web"}))
    assert not web.follow_up and web.dropped == frozenset({"app_only"})


def _problems(text):
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "h.yaml")
    return [str(p) for p in caught.value.problems]


def test_validator_refuses_undeclared_hidden_names_with_file_and_line():
    text = HIDDEN_YAML.replace("show_if: \"hidden.channel == 'app'\"", "show_if: \"hidden.chanel == 'app'\"")
    line = text.splitlines().index("        show_if: \"hidden.chanel == 'app'\"") + 1
    assert _problems(text) == [f"h.yaml:{line}: pages[1].questions[1].show_if: show_if refers to undeclared hidden "
                               "field 'hidden.chanel' (declared: hidden.agent, hidden.channel, hidden.note, hidden.store)"]


def test_validator_checks_the_hidden_list():
    text = HIDDEN_YAML.replace('  - {id: note, pattern: ".{1,200}"}',
                               '  - {id: note, pattern: "([a-z"}\n  - {id: store, values: [x]}\n'
                               '  - {id: sig, values: [x]}\n  - {id: both, values: [x], pattern: "x"}\n'
                               '  - {id: Bad-Id, values: [x]}')
    problems = _problems(text)
    assert problems == ["h.yaml:14: hidden[6]: give exactly one of 'values' or 'pattern'",
                        "h.yaml:15: hidden[7].id: 'Bad-Id' is not a valid name here (must match ^[a-z][a-z0-9_]*$)"]
    assert _problems(HIDDEN_YAML.replace('{id: channel, values: [app, web]}', '{id: channel}')) == [
        "h.yaml:9: hidden[1]: give exactly one of 'values' or 'pattern'"]
    text = text.replace('  - {id: both, values: [x], pattern: "x"}\n', "").replace('  - {id: Bad-Id, values: [x]}', "")
    problems = _problems(text)
    assert problems == [
        "h.yaml:11: hidden[3].pattern: not a valid regular expression: unterminated character set at position 1",
        "h.yaml:12: hidden[4].id: duplicate hidden field id 'store'",
        "h.yaml:13: hidden[5].id: 'sig' is a parameter of the survey link itself; choose another id",
        # The field whose pattern is broken is not declared: piping it is refused too.
        "h.yaml:27: pages[0].questions[0].help: pipes undeclared hidden field {hidden.note}"]


def test_migration_adds_and_removes_the_hidden_column(empty_database_url):
    from sqlalchemy import inspect

    from models.storage import make_engine, upgrade
    from models.storage.db import downgrade
    engine = make_engine(empty_database_url)
    upgrade(engine, "0012_hidden")
    assert "hidden" in {c["name"] for c in inspect(engine).get_columns("responses")}
    downgrade(engine, "0011_dataimport")
    assert "hidden" not in {c["name"] for c in inspect(engine).get_columns("responses")}
    engine.dispose()
