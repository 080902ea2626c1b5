"""``csi questionnaire diff`` and ``csi questionnaire preview`` (survey_app/cli_questionnaire.py):
exit codes, readable and JSON output, the stored version against a file, pages written as files.
Run in-process with click's runner (a subprocess per call cost seconds each on a loaded machine;
``test_cli.py`` runs the real ``csi`` for the command list)."""
from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import make_engine, register_questionnaire
from tests.hidden_questionnaire import HIDDEN_YAML
from tests.matrix_questionnaire import QUESTIONNAIRE as MATRIX_YAML

from click.testing import CliRunner

from survey_app.cli import main


def csi(*args):
    """The command's result: ``returncode``, ``stdout``, ``stderr`` (as test_cli's subprocess helper)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    result.returncode = result.exit_code
    return result


def write(tmp_path, name: str, raw: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def versions(tmp_path):
    """OLD (the matrix questionnaire), a NEW that only rewords, and a NEW that rescales a construct's items."""
    raw = yaml.safe_load(MATRIX_YAML)
    reworded = json.loads(json.dumps(raw)) | {"version": "2"}
    reworded["pages"][1]["questions"][1]["text"]["zh-CN"] = "还有什么想说的吗？"
    rescaled = json.loads(json.dumps(raw)) | {"version": "3"}
    rescaled["scales"]["five"]["max"] = 7
    return {name: write(tmp_path, f"{name}.yaml", content)
            for name, content in (("old", raw), ("reworded", reworded), ("rescaled", rescaled))}


@pytest.mark.parametrize("new, code, lines", [
    ("reworded", 0, ["grid-retail: v1 -> v2: 1 change", "  notice   comment: text reworded (zh-CN)",
                     "  perceived_quality: comparable", "  satisfaction: comparable"]),
    ("rescaled", 3, ["grid-retail: v1 -> v3: 3 changes", "  breaks   s_price rescaled: 1..5 became 1..7",
                     "  satisfaction: breaks comparison with earlier waves",
                     "breaks comparison with earlier waves for: satisfaction"]),
])
def test_diff_of_two_files_exits_3_only_when_comparison_breaks(versions, new, code, lines):
    result = csi("questionnaire", "diff", versions["old"], versions[new])
    assert result.returncode == code, result.stderr
    for line in lines:
        assert line in result.stdout.splitlines(), result.stdout
    as_json = csi("questionnaire", "diff", versions["old"], versions[new], "--json")
    assert as_json.returncode == code
    data = json.loads(as_json.stdout)
    assert data["breaks_comparison"] is (code == 3)
    assert data["constructs"]["satisfaction"] == ("breaks" if code == 3 else "comparable")


def test_diff_against_the_stored_version(versions, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert csi("init", "--database", url).returncode == 0
    engine = make_engine(url)
    with Session(engine) as session:
        register_questionnaire(session, parse_questionnaire(MATRIX_YAML))
        session.commit()
    engine.dispose()
    result = csi("questionnaire", "diff", "--survey", "grid-retail", versions["rescaled"], "--database", url)
    assert result.returncode == 3 and "grid-retail: v1 -> v3: 3 changes" in result.stdout
    missing = csi("questionnaire", "diff", "--survey", "nobody", versions["rescaled"], "--database", url)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: no stored questionnaire 'nobody'"
    # A wave fielded with the new version says that it breaks comparison (and is created all the same).
    fielded = csi("wave", "create", "--survey", "grid-retail", "--wave", "2027Q1", "--questionnaire",
                  versions["rescaled"], "--database", url)
    assert fielded.returncode == 0 and "created (closed), questionnaire version 3" in fielded.stdout
    assert fielded.stderr.startswith("warning: version 3 breaks comparison with earlier waves (v1) for: satisfaction; ")


def test_diff_refuses_bad_input_clearly(versions, tmp_path):
    other = write(tmp_path, "other.yaml", yaml.safe_load(HIDDEN_YAML))
    result = csi("questionnaire", "diff", versions["old"], other)
    assert result.returncode == 1
    assert "two questionnaires ('grid-retail' and 'hidden-demo'), not two versions of one" in result.stderr
    (tmp_path / "broken.yaml").write_text("id: x\n", encoding="utf-8")
    broken = csi("questionnaire", "diff", versions["old"], str(tmp_path / "broken.yaml"))
    assert broken.returncode == 1 and "broken.yaml:1: missing required field 'version'" in broken.stderr
    assert csi("questionnaire", "diff", versions["old"]).returncode == 2
    assert "Traceback" not in result.stderr + broken.stderr


def test_preview_writes_every_page_in_each_language(tmp_path):
    source = tmp_path / "hidden.yaml"
    source.write_text(HIDDEN_YAML, encoding="utf-8")
    out = tmp_path / "out"
    result = csi("questionnaire", "preview", str(source), "--out", str(out), "--answer", "overall=2",
                 "--answer", "fruit=b", "--hidden", "channel=web")
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == [
        "en/page-01-p1.html", "en/page-02-p2.html", "index.html", "zh-CN/page-01-p1.html", "zh-CN/page-02-p2.html"]
    english = (out / "en" / "page-02-p2.html").read_text(encoding="utf-8")
    assert "You gave 2 and like Bananas. Why?" in english and "Was the web easy" not in english  # app_only hidden
    assert "<style>" in english and "/static/style.css" not in english  # opens without a server
    chinese = (out / "zh-CN" / "page-01-p1.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in chinese and "您对门店[hidden.store]的访问满意吗？" in chinese
    refused = csi("questionnaire", "preview", str(source), "--out", str(out), "--answer", "overall=77")
    assert refused.returncode == 1 and refused.stderr.strip() == "error: not a value a page accepts: overall"
    unknown = csi("questionnaire", "preview", str(source), "--out", str(out), "--lang", "fr")
    assert unknown.returncode == 1 and "fr: not a language of hidden-demo (en, zh-CN)" in unknown.stderr
