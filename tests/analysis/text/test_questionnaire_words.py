"""A survey's own words for the open-answer analysis, declared in the questionnaire
(``text_analysis: {user_words, stop_words}``): product names kept whole, extra stop words
left out of the themes, in the stored wave analysis and ``csi text --survey``."""
import pandas as pd
import pytest

import questionnaires
from analysis.text.wave import stored_wave_texts
from models.errors import QuestionnaireError
from models.questionnaire import parse_questionnaire

ANSWERS = ["小米手机很好用，服务不错", "小米手机电池耐用，服务热情", "小米手机拍照清晰，服务周到",
           "门店排队太久，服务太慢", "门店收银排队，服务一般"] * 8


def acsi_with(section: str):
    text = questionnaires.path("acsi_retail").read_text(encoding="utf-8")
    return parse_questionnaire(text.replace("\npages:", section + "\npages:", 1), "acsi.yaml")


def labels(questionnaire) -> set[str]:
    frame = pd.DataFrame({"comments": ANSWERS}, index=range(1, len(ANSWERS) + 1))
    found = stored_wave_texts(questionnaire, frame, None)["comments"]["themes"]
    return {word for theme in found for word in theme["label"].split(" / ")}


def test_user_words_are_kept_whole_and_stop_words_left_out():
    plain = labels(acsi_with(""))
    assert "小米手机" not in plain and "服务" in plain          # jieba cuts the name; 服务 is a theme word
    own = acsi_with("text_analysis:\n  user_words: [小米手机]\n  stop_words: [服务]\n")
    assert own.user_words == ("小米手机",) and own.stop_words == ("服务",)
    words = labels(own)
    assert "小米手机" in words and "服务" not in words


@pytest.mark.parametrize("section, message", [
    ("text_analysis:\n  user_words: [two words]\n", "text_analysis.user_words[0]"),
    ("text_analysis:\n  dictionary: [x]\n", "text_analysis"),
])
def test_bad_word_lists_are_named(section, message):
    with pytest.raises(QuestionnaireError, match=message.replace("[", r"\[").replace("]", r"\]")):
        acsi_with(section)
