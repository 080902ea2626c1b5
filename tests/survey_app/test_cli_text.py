"""``csi text sentiment`` and ``csi text themes``, run in a subprocess as a user would."""
import json
import subprocess
import sys

import pytest


def csi(*args):
    return subprocess.run([sys.executable, "-m", "survey_app.cli", "text", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def answers(tmp_path):
    path = tmp_path / "answers.csv"
    long = "退款太慢了，很失望。" * 3000
    path.write_text("id,answer,score\n1,服务很好，非常满意,90\n2,\"Terrible, the app crashes\",20\n3,,50\n"
                    f"4,😠😢,30\n5,App很好用 but login is slow,60\n6,{long},10\n", encoding="utf-8")
    return path


def test_sentiment_json(answers):
    result = csi("sentiment", str(answers), "--column", "answer", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [r["row"] for r in rows] == list(range(6))
    assert [r["sentiment"] for r in rows] == ["positive", "negative", "neutral", "negative", "positive",
                                              "negative"]
    assert rows[2]["score"] == 0.0 and all(-1 <= r["score"] <= 1 for r in rows)
    assert set(rows[0]) == {"row", "sentiment", "score"}
    plain = csi("sentiment", str(answers), "--column", "answer", "--lang", "zh-CN")
    assert plain.stdout.splitlines()[0].split("\t")[:2] == ["0", "positive"]


def test_rows_keep_file_order_with_odd_line_breaks(tmp_path):
    # An answer holding U+2028, U+0085 or a form feed is one row; a quoted answer spanning
    # lines is one row; a header-only file has no rows; CRLF files and a BOM are fine.
    path = tmp_path / "odd.csv"
    path.write_bytes("\ufeffid,text\r\n1,很好\u2028很满意\r\n2,bad\x85service\x0cawful\r\n"
                     "3,\"terrible,\r\nreally terrible\"\r\n4,great\r\n".encode("utf-8"))
    rows = json.loads(csi("sentiment", str(path), "--column", "text", "--json").stdout)["rows"]
    assert [(r["row"], r["sentiment"]) for r in rows] == [(0, "positive"), (1, "negative"), (2, "negative"),
                                                          (3, "positive")]
    path.write_text("text\n", encoding="utf-8")
    result = csi("sentiment", str(path), "--column", "text", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == {"rows": []}


def test_themes_json(tmp_path):
    path = tmp_path / "t.csv"
    lines = ["answer"] + ["queue too long at the counter", "rude staff at the counter", "fees too high",
                          "waiting in the queue for an hour", "the staff were rude", "high fees and charges"] * 20
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = csi("themes", str(path), "--column", "answer", "--k", "3", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n_answers"] == 120 and len(out["themes"]) == 3
    assert all(2 <= len(t["examples"]) <= 3 and 0 < t["share"] <= 1 for t in out["themes"])
    assert len(out["rows"]) == 120
    plain = csi("themes", str(path), "--column", "answer", "--k", "3")
    assert plain.stdout.startswith("3 themes in 120 of 120 answers")


@pytest.mark.parametrize("content, command, message", [
    (b"id,answer\n1,ok\n", "sentiment", "no column 'text' (columns: id, answer)"),
    (b"", "sentiment", "the file is empty"),
    (b"  \n\n", "themes", "the file is empty"),
    ("text\n服务很好\n".encode("gbk"), "sentiment", ":2: not UTF-8 text"),
    (b"text\nfine\n\"unclosed\n", "themes", "bad.csv:3: malformed CSV: unexpected end of data"),
    (b"text\n\"a\"b\n", "sentiment", "bad.csv:2: malformed CSV"),
    (b"text\n\n\xf0\x9f\x98\x80\n", "themes", "no answer has a content word"),
])
def test_user_errors_are_one_line(tmp_path, content, command, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = csi(command, str(path), "--column", "text")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_missing_file_and_bad_options(tmp_path):
    result = csi("sentiment", str(tmp_path / "nope.csv"), "--column", "a")
    assert result.returncode == 1 and "no such file" in result.stderr
    result = csi("themes", str(tmp_path / "nope.csv"), "--column", "a", "--k", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr


# --- a stored wave: --survey S --wave W --question Q ------------------------------------

THEMES = {  # what customers wrote, by how satisfied they were (known truth for the themes' link)
    "low": ["结账排队太久，收银台太少", "排队等了半小时，收银太慢", "收银排队太慢了"],
    "middle": ["停车场太小，找不到停车位", "停车位不够，停车场太挤", "停车场停车位太少"],
    "high": ["店员很热情，服务周到", "店员热情耐心，服务很好", "服务热情，店员专业"],
}


@pytest.fixture(scope="module")
def stored_wave(tmp_path_factory):
    """Two waves of the shipped retail questionnaire; the comments follow satisfaction: the
    least satisfied third writes about the checkout queue, the most satisfied about friendly
    staff. The earlier wave mentions parking more."""
    import numpy as np

    import questionnaires
    from analysis.simulate import simulate_responses
    from models import load_questionnaire
    from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade
    from sqlalchemy.orm import Session

    url = f"sqlite:///{tmp_path_factory.mktemp('text') / 'csi.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    satisfaction_items = questionnaire.constructs()["satisfaction"]
    for wave_name, n, seed, parking in (("2026Q3", 150, 11, 0.6), ("2026Q4", 180, 12, 0.15)):
        frame = simulate_responses(questionnaire, n, seed=seed)
        rng = np.random.default_rng(seed)
        level = frame[list(satisfaction_items)].mean(axis=1).rank(pct=True)
        comments = []
        for share in level:
            group = "low" if share < 1 / 3 else "high" if share > 2 / 3 else "middle"
            if rng.random() < parking:
                group = "middle"
            comments.append(str(rng.choice(THEMES[group])) if rng.random() < 0.9 else "")
        frame["comments"] = comments
        with Session(engine) as session:
            survey = register_questionnaire(session, questionnaire)
            wave = create_wave(session, survey, wave_name)
            session.commit()
            bulk_insert_responses(engine, survey, wave, frame)
    engine.dispose()
    return url


def stored(url, command, *extra):
    return csi(command, "--survey", "acsi-retail", "--wave", "2026Q4", "--question", "comments",
               "--database", url, *extra)


def test_stored_wave_themes_link_to_satisfaction_and_the_previous_wave(stored_wave):
    done = stored(stored_wave, "themes", "--k", "3", "--segment", "channel", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["wave"] == "2026Q4" and out["previous_wave"] == "2026Q3" and out["score_construct"] == "satisfaction"
    assert len(out["rows"]) == 180 and all(isinstance(r["response_id"], int) for r in out["rows"])
    # Three themes, one per subject.
    words = {"queue": ("排队", "收银", "queue", "checkout", "waiting"), "staff": ("店员", "热情", "staff", "friendly"),
             "parking": ("停车", "parking", "lot")}
    subject = {t["theme"]: next(k for k, w in words.items() if any(x in t["label"].lower() for x in w))
               for t in out["themes"]}
    assert sorted(subject.values()) == ["parking", "queue", "staff"], out["themes"]
    for theme in out["scores"]["themes"]:
        low, high = theme["ci_difference"]
        if subject[theme["theme"]] == "queue":   # written by the least satisfied: a lower index, interval below 0
            assert theme["difference"] < 0 and high < 0, theme
        if subject[theme["theme"]] == "staff":   # by the most satisfied
            assert theme["difference"] > 0 and low > 0, theme
    # The themes that most separate dissatisfied from satisfied customers are queue and staff, not parking.
    assert {subject[s["theme"]] for s in out["scores"]["separation"][:2]} == {"queue", "staff"}
    # Parking was written about far more in the earlier wave (60 % of answers forced vs 15 %).
    parking = [c for c in out["change"] if subject[c["theme"]] == "parking"]
    assert sum(c["share"] for c in parking) < sum(c["share_previous"] for c in parking)
    assert all(c["difference"] < 0 for c in parking)
    # Shares per channel: every respondent in one value, intervals around each share.
    values = out["segments"]["values"]
    assert out["segments"]["variable"] == "channel" and len(values) >= 2
    assert sum(v["n_answers"] for v in values) == 180
    for value in values:
        for theme in value["themes"]:
            assert theme["ci"][0] <= theme["share"] <= theme["ci"][1]
    queue_sentiment = [t["sentiment"] for t in out["themes"] if subject[t["theme"]] == "queue"]
    assert all(s["negative"] > s["positive"] for s in queue_sentiment)


def test_stored_wave_sentiment_names_each_response(stored_wave):
    done = stored(stored_wave, "sentiment", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert [r["row"] for r in rows] == list(range(180))
    assert len({r["response_id"] for r in rows}) == 180
    assert {r["sentiment"] for r in rows} <= {"negative", "neutral", "positive"}


@pytest.mark.parametrize("args, message", [
    (("--question", "sat_overall"), "not open text"),
    (("--question", "nope"), "no question 'nope'; its open-text questions: comments"),
    (("--question", "comments", "--segment", "nope"), "no question or invitation attribute 'nope'"),
    (("--question", "comments", "--score-construct", "Nope"), "no construct 'Nope'"),
])
def test_stored_wave_errors_name_the_culprit(stored_wave, args, message):
    command = "themes"
    done = csi(command, "--survey", "acsi-retail", "--wave", "2026Q4", "--database", stored_wave, *args)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", [
    (("x.csv", "--survey", "s", "--column", "c"), "give either FILE.csv --column C, or --survey"),
    (("--survey", "s", "--wave", "w"), "--survey needs --wave and --question"),
    (("x.csv",), "FILE needs --column"),
])
def test_file_or_stored_wave_is_one_choice(args, message):
    done = csi("themes", *args)
    assert done.returncode == 1 and message in done.stderr
