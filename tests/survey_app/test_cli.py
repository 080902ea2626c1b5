"""The csi command-line contract (exit codes, output lines), run in a subprocess as a user would."""
import json
import re
import subprocess
import sys

import pytest

import questionnaires
from tests.conftest import shared_file

BAD = """\
id: bad
version: 1
default_language: en
title: Bad
scales:
  ten: {min: 1, max: 10}
pages:
  - id: p1
    questions:
      - id: q1
        type: rating
        scale: likert11
        text: One
      - id: q1
        type: rating
        scale: ten
        text: Two
"""


def csi(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "survey_app.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_help_lists_only_built_commands():
    result = csi("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"validate", "init", "fit", "demo", "serve", "backup", "restore", "admin", "report", "worker",
                      "jobs", "analyse"}


def test_validate_ok_and_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    good = [str(questionnaires.path(n)) for n in questionnaires.SHIPPED]
    result = csi("validate", *good)
    assert result.returncode == 0, result.stderr
    assert [line.split(": ok: ")[0] for line in result.stdout.splitlines()] == good
    assert "acsi-retail v1: 34 questions (28 rating items), 8 constructs, 7 pages, languages en, zh-CN" in result.stdout
    result = csi("validate", str(bad), good[0])
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{bad}:12: pages[0].questions[0].scale: unknown scale 'likert11' (defined scales: ten)" in lines
    assert f"{bad}:14: pages[0].questions[1].id: duplicate question id 'q1' (also pages[0].questions[0])" in lines
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_missing_file_is_a_clean_error(tmp_path):
    result = csi("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1 and "cannot read file" in result.stdout and "Traceback" not in result.stderr


def test_init_creates_and_reports_up_to_date(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    from models.storage import head_revision
    head = head_revision()
    first = csi("init", "--database", url)
    assert first.returncode == 0 and f"schema empty -> {head}" in first.stdout
    second = csi("init", "--database", url)
    assert second.returncode == 0 and f"is up to date (schema {head})" in second.stdout


def test_fit_json_contract_on_mobi(tmp_path, mobi_reference):
    data = shared_file("mobi.csv")
    spec = mobi_reference["model_ECSImobi"]
    model = tmp_path / "ecsi.model"
    model.write_text("\n".join(f"{b} =~ {' + '.join(i)}" for b, i in spec["blocks"].items()) + "\n"
                     + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"]) + "\n")
    result = csi("fit", "--model", str(model), "--data", str(data), "--boot", "200", "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"paths", "r_squared", "loadings", "weights", "index", "quality", "htmt", "fit", "n_used"} <= set(payload)
    path = next(p for p in payload["paths"] if p["from"] == "Quality" and p["to"] == "Satisfaction")
    assert path["estimate"] == pytest.approx(0.51202394, abs=1e-6)
    assert path["ci_low"] < path["estimate"] < path["ci_high"] and path["se"] > 0
    assert payload["n_used"] == 250
    assert set(payload["quality"]["Image"]) == {"alpha", "rho_c", "rho_a", "ave"}
    assert 0 < payload["index"]["Satisfaction"] < 100


def test_fit_errors_are_one_clear_line(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a1,a2,b1\n1,2,3\n")
    model = tmp_path / "m.model"
    model.write_text("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A\n")
    result = csi("fit", "--model", str(model), "--data", str(data))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: item column not in the data: 'b2' (construct 'B'; did you mean 'b1'?)"
    model.write_text("A =~ a1 + a2\nB ~ A\n")
    result = csi("fit", "--model", str(model), "--data", str(data))
    assert result.returncode == 1 and f"{model}:2: 'B' in a structural path is not a construct" in result.stderr
    result = csi("fit", "--model", "acsi", "--data", str(data))
    assert result.returncode == 1 and "needs --questionnaire" in result.stderr


def test_demo_then_fit_from_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    demo = csi("demo", "--database", url, "--respondents", "150", "--no-serve", "--boot", "200", "--perm", "100",
               cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "2026Q3" in demo.stdout and "satisfaction" in demo.stdout
    assert re.search(r"satisfaction +(\d+\.\d +){5}\[\d", demo.stdout), demo.stdout  # five waves and an interval
    reports = sorted(p.name for p in (tmp_path / "instance" / "reports").iterdir())
    assert reports == ["acsi-retail-2026Q4-en.html", "acsi-retail-2026Q4-zh-CN.html",
                       "ccsi-mobile-2026Q4-en.html", "ccsi-mobile-2026Q4-zh-CN.html"]
    password = re.search(r"user admin, password (\S+)", demo.stdout).group(1)
    from sqlalchemy import text
    from sqlalchemy.orm import Session
    from models.storage import make_engine
    from models.storage.accounts import authenticate
    engine = make_engine(url)
    with Session(engine) as session:
        assert authenticate(session, "admin", password) is not None
        flagged = session.execute(text("SELECT count(*) FROM responses WHERE follow_up_status = 'open'")).scalar()
        assert flagged > 0  # dissatisfied simulated customers are in the follow-up queue
    engine.dispose()
    result = csi("fit", "--database", url, "--survey", "ccsi-mobile", "--wave", "2026Q4", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["n_used"] == 150 and payload["source"] == "ccsi-mobile/2026Q4"
    assert set(payload["index"]) == {"brand_image", "expected_quality", "perceived_quality", "perceived_value", "satisfaction", "loyalty"}
    # Running the demo again reuses the data rather than duplicating it.
    stored = json.loads(result.stdout)["stored_analysis"]
    assert (stored["bootstrap"], stored["permutations"]) == (200, 100)  # the demo's stored analysis, not a new one
    # Running the demo again reuses the data and the stored analyses rather than redoing them.
    again = csi("demo", "--database", url, "--respondents", "150", "--no-serve", "--no-reports", "--boot", "200",
                "--perm", "100", cwd=tmp_path)
    assert again.returncode == 0 and "n=150" in again.stdout
    assert re.findall(r"satisfaction .*p=(\S+),", again.stdout) == re.findall(r"satisfaction .*p=(\S+),", demo.stdout)
    engine = make_engine(url)
    with Session(engine) as session:
        kept = session.execute(text("SELECT output FROM jobs WHERE kind = 'analysis' ORDER BY id DESC LIMIT 10")).scalars()
        assert all(json.loads(o)["kept"] for o in kept)  # stored and current: not computed again
    engine.dispose()


def test_backup_and_restore_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    assert csi("demo", "--database", url, "--respondents", "60", "--no-serve", "--no-reports", "--boot", "20", "--perm", "19",
               cwd=tmp_path).returncode == 0
    before = json.loads(csi("fit", "--database", url, "--survey", "acsi-retail", "--wave", "2026Q3", "--json").stdout)
    saved = csi("backup", str(tmp_path / "b.sqlite3"), "--database", url)
    assert saved.returncode == 0 and "responses" in saved.stdout, saved.stderr
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    refused = subprocess.run([sys.executable, "-m", "survey_app.cli", "restore", str(tmp_path / "b.sqlite3"),
                              "--database", other], input="n\n", capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "restore cancelled" in refused.stderr
    restored = csi("restore", str(tmp_path / "b.sqlite3"), "--database", other, "--yes")
    assert restored.returncode == 0, restored.stderr
    after = json.loads(csi("fit", "--database", other, "--survey", "acsi-retail", "--wave", "2026Q3", "--json").stdout)
    assert after["index"] == before["index"] and after["n_used"] == 60
