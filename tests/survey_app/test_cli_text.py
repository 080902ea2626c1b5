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
