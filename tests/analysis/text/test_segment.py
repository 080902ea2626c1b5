"""Segmentation per script, stop words and user dictionaries."""
import pytest

from analysis.text import Tokenizer, detect_lang


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


def test_mixed_answer_is_cut_per_script(tokenizer):
    assert tokenizer.words("App老是闪退, very SLOW!") == ["app", "老是", "闪退", "very", "slow"]
    # Content words only: stop words (very, 的) and single Chinese characters dropped.
    assert tokenizer.tokens("App的更新很慢, very SLOW!") == ["app", "更新", "slow"]


@pytest.mark.parametrize("text", ["", "   ", "😀😡👍", "!!! ??? 123", None, 42])
def test_nothing_to_segment(tokenizer, text):
    assert tokenizer.tokens(text) == []
    assert detect_lang(text if isinstance(text, str) else "") == ""


@pytest.mark.parametrize("text, lang", [("服务很好", "zh"), ("great service", "en"), ("App很好", "zh"),
                                        ("😀 ok", "en")])
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang


def test_user_words_stay_whole_and_do_not_leak():
    text = "星巴克臻选店的拿铁很好喝"
    plain = Tokenizer().words(text)
    assert "星巴克臻选店" not in plain
    survey = Tokenizer(user_words=("星巴克臻选店",))
    assert "星巴克臻选店" in survey.words(text)
    # Another survey's tokenizer is unaffected (jieba's global dictionary is not touched).
    assert Tokenizer().words(text) == plain


def test_survey_stop_words_are_removed():
    assert "银行" in Tokenizer().tokens("银行的网点太少")
    assert Tokenizer(stop_words=frozenset({"银行", "Bank"})).tokens("银行的网点太少, bank app") == ["网点", "app"]


def test_very_long_answer(tokenizer):
    text = "排队时间太长，" * 5000 + " the queue is too long" * 2000
    tokens = tokenizer.tokens(text)
    assert tokens.count("排队") == 5000 and tokens.count("queue") == 2000
