"""The csi command-line contract (exit codes, output lines), run in a subprocess as a user would."""
import json
import re
import subprocess
import sys

import pytest

import questionnaires
from tests.conftest import shared_file
from survey_app.state import state_of

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
    assert listed == {"validate", "init", "fit", "predict", "demo", "serve", "backup", "restore", "admin", "report",
                      "export", "followup", "invitations", "webhooks", "worker", "jobs", "analyse", "text", "convert", "dashboard",
                      "import", "wave", "league", "links", "cvpat", "questionnaire"}
    wave_commands = csi("wave", "--help").stdout.split("Commands:")[1].split()
    assert {"create", "open", "close", "limit", "status"} <= set(wave_commands)


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
    demo = csi("demo", "--database", url, "--respondents", "150", "--no-serve", "--boot", "50", "--perm", "30",
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
    assert (stored["bootstrap"], stored["permutations"]) == (50, 30)  # the demo's stored analysis, not a new one
    # Running the demo again reuses the data and the stored analyses rather than redoing them.
    again = csi("demo", "--database", url, "--respondents", "150", "--no-serve", "--no-reports", "--boot", "50",
                "--perm", "30", cwd=tmp_path)
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


# --- hostile and careless input: one line `error: ...`, exit 1, no traceback, nothing written ---

def one_line_error(result, expected: str):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(expected, lines[0]), lines[0]


@pytest.fixture
def fit_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a1,a2,b1,b2\n")
    (tmp_path / "latin1.csv").write_bytes("a1,a2,b1,b2\n1,2,3,4\n# caf\xe9\n".encode("latin-1"))
    (tmp_path / "d.csv").write_text("a1,a2,b1\n1,2,3\n2,3,4\n3,3,5\n")  # lacks b2: fitting would fail
    (tmp_path / "m.model").write_text("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A\n")
    (tmp_path / "gbk.model").write_bytes("满意 =~ a1 + a2\n".encode("gbk"))
    (tmp_path / "acsi_retail.yaml").write_bytes(open(questionnaires.path("acsi_retail"), "rb").read())
    return tmp_path


@pytest.mark.parametrize("args, expected", [
    (["--model", "m.model", "--data", "empty.csv"], r"^error: empty.csv is empty: a CSV file needs a header row"),
    (["--model", "m.model", "--data", "header.csv"], r"^error: header.csv has a header but no rows of data$"),
    (["--model", "m.model", "--data", "latin1.csv"], r"^error: latin1.csv is not UTF-8 text \(byte 0xe9"),
    (["--model", "gbk.model", "--data", "d.csv"], r"^error: model file gbk.model is not UTF-8 text \(byte 0x"),
    (["--model", "m.model", "--data", "missing.csv"], r"^error: no data file missing.csv$"),
    (["--model", "m.model", "--data", "."], r"^error: \. is a folder, not a CSV file$"),
    # Checked before fitting: this data would fail the fit (no b2), yet the folder is named.
    (["--model", "m.model", "--data", "d.csv", "--plot", "nowhere/fig"],
     r"^error: --plot nowhere/fig-paths.png: the folder nowhere does not exist$"),
    (["--model", "m.model", "--data", "d.csv", "--plot", "fig", "--method", "cbsem"], r"--plot draws PLS results"),
    (["--survey", "acsi-retail"], r"^error: --survey needs --wave$"),
    # Before: "no operator in 'id: acsi-retail'".
    (["--model", "acsi_retail.yaml", "--data", "d.csv"],
     r"^error: --model acsi_retail.yaml is a questionnaire file \(acsi-retail\), not a model; give it with "
     r"--questionnaire and choose --model acsi, ecsi, "),
])
def test_fit_rejects_bad_input_in_one_line(fit_files, args, expected):
    one_line_error(csi("fit", *args, cwd=fit_files), expected)
    assert not list(fit_files.glob("*.png"))


@pytest.fixture
def stored_wave(database_url):
    """A database at the current schema with 40 complete responses in acsi-retail/2026Q4."""
    from sqlalchemy.orm import Session

    from analysis.simulate import simulate_responses
    from models import load_questionnaire
    from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade

    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
        bulk_insert_responses(engine, survey, wave, simulate_responses(questionnaire, 40, seed=3))
    engine.dispose()
    return database_url


UNREACHABLE = "postgresql://nobody:hunter2@127.0.0.1:1/none"


@pytest.mark.parametrize("command", [
    ["fit", "--survey", "acsi-retail", "--wave", "2026Q4"],
    ["report", "--survey", "acsi-retail", "--wave", "2026Q4"],
    ["export", "--survey", "acsi-retail", "--wave", "2026Q4", "-o", "out.csv"],
    ["admin", "token", "t", "--user", "alice"],
    ["serve", "--port", "FREE"],
    ["init"],
    ["backup", "b.bin"],
])
@pytest.mark.parametrize("database, expected", [
    (UNREACHABLE, r"cannot (open|initialize) (the database )?postgresql://nobody:\*\*\*@127.0.0.1:1/none: .*refused"
                  r"|pg_dump failed: .*refused"),
    ("sqlite:///{tmp}/absent/none.sqlite3", r"there is no database at .*none.sqlite3$|cannot initialize .*unable to open"),
    ("not a url", r"^error: 'not a url' is not a database URL"),
])
def test_database_problems_are_one_line(tmp_path, command, database, expected):
    database = database.format(tmp=tmp_path)
    command = [str(free_port()) if part == "FREE" else part for part in command]
    result = csi(*command, "--database", database, cwd=tmp_path)
    one_line_error(result, expected)
    assert "hunter2" not in result.stderr
    assert not (tmp_path / "absent").exists() and not (tmp_path / "out.csv").exists()


def test_unknown_survey_or_wave_is_one_line(stored_wave, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    waves = r"its waves: 2026Q4"
    for command in (["fit"], ["report", "-o", str(tmp_path / "r.html")], ["export", "-o", str(tmp_path / "x.csv")]):
        one_line_error(csi(*command, "--survey", "acsi-retail", "--wave", "1999Q1", "--database", stored_wave),
                       rf"no wave '1999Q1' for questionnaire 'acsi-retail'; {waves}")
        one_line_error(csi(*command, "--survey", "no-such-survey", "--wave", "2026Q4", "--database", stored_wave),
                       r"no wave '2026Q4' for questionnaire 'no-such-survey'")
    assert list(tmp_path.iterdir()) == []


def test_fit_on_a_wave_without_responses_says_so(stored_wave):
    from sqlalchemy.orm import Session

    from models.storage import create_wave, find_wave, make_engine

    engine = make_engine(stored_wave)
    with Session(engine) as session:
        create_wave(session, find_wave(session, "acsi-retail", "2026Q4").questionnaire_version, "2027Q1")
        session.commit()
    engine.dispose()
    # The wave's stored analysis (the default) and a fresh fit (any option) both say so in one line.
    one_line_error(csi("fit", "--survey", "acsi-retail", "--wave", "2027Q1", "--database", stored_wave),
                   r"^error: wave '2027Q1' has 0 complete responses; a model with \d+ items needs more")
    one_line_error(csi("fit", "--survey", "acsi-retail", "--wave", "2027Q1", "--boot", "0", "--database", stored_wave),
                   r"^error: wave '2027Q1' of 'acsi-retail' has no complete responses yet$")


def test_validate_a_folder_is_one_line(tmp_path):
    result = csi("validate", str(tmp_path))
    assert result.returncode == 1 and result.stdout.strip() == f"{tmp_path}: cannot read file: Is a directory"
    assert "Traceback" not in result.stderr


def test_schema_older_or_newer_than_the_code(tmp_path):
    from sqlalchemy import text

    from models.storage import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine, "0002")
    one_line_error(csi("admin", "token", "t", "--user", "alice", "--database", url),
                   r"is not at the current schema \(0002, expected \w+\); run: csi init$")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    one_line_error(csi("export", "--survey", "s", "--wave", "w", "-o", str(tmp_path / "x.csv"), "--database", url),
                   r"has schema 9999_future, newer than this version of csi-toolkit knows")


# --- csi export: the console's files, scriptable ---

def test_export_choices_are_the_exporters():
    from models.exports import EXPORT_FORMATS
    from survey_app.cli import EXPORT_CHOICES

    assert EXPORT_CHOICES == tuple(EXPORT_FORMATS)


def test_export_writes_what_the_console_downloads(app, database_url, tmp_path):
    import io

    import pandas as pd
    import pyreadstat
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from analysis.simulate import simulate_responses
    from models import load_questionnaire
    from models.storage import bulk_insert_responses, find_wave
    from models.storage.accounts import create_admin
    from models.storage.tables import QuestionnaireVersion
    from tests.survey_app.conftest import https_client
    from tests.survey_app.test_admin import PASSWORD, login

    engine = state_of(app).engine
    acsi = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        wave = find_wave(session, "acsi-retail", "2026Q4")
        wave_id = wave.id
        create_admin(session, "alice", PASSWORD, "admin")
        session.commit()
        bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 60, seed=4))
    client = https_client(app)
    assert login(client).status_code == 302
    for fmt, layout in (("csv", "wide"), ("csv", "long"), ("xlsx", "wide"), ("sav", "wide"), ("sav", "long")):
        console = client.get(f"/admin/waves/{wave_id}/export?format={fmt}&layout={layout}")
        assert console.status_code == 200
        out = tmp_path / f"answers-{layout}.{fmt}"
        result = csi("export", "--survey", "acsi-retail", "--wave", "2026Q4", "--layout", layout, "-o", str(out),
                     "--database", database_url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"wrote {out} ({fmt}, {layout}, {out.stat().st_size:,} bytes)"
        if fmt == "csv":
            assert out.read_bytes() == console.data  # byte for byte
            assert len(pd.read_csv(out)) == (60 if layout == "wide" else len(pd.read_csv(io.BytesIO(console.data))))
        elif fmt == "xlsx":  # the file carries its creation time: compare every sheet's cells
            mine, theirs = pd.read_excel(out, sheet_name=None), pd.read_excel(io.BytesIO(console.data), sheet_name=None)
            assert list(mine) == list(theirs) == ["responses", "variables"]
            for sheet in mine:
                pd.testing.assert_frame_equal(mine[sheet], theirs[sheet])
            assert len(mine["responses"]) == 60
        else:
            console_file = tmp_path / f"console-{layout}.sav"
            console_file.write_bytes(console.data)
            (mine, mine_meta), (theirs, theirs_meta) = pyreadstat.read_sav(out), pyreadstat.read_sav(console_file)
            pd.testing.assert_frame_equal(mine, theirs)
            assert mine_meta.column_names_to_labels == theirs_meta.column_names_to_labels
            assert mine_meta.variable_value_labels == theirs_meta.variable_value_labels
    # The format follows the file name when --format is not given.
    named = tmp_path / "by-name.xlsx"
    assert csi("export", "--survey", "acsi-retail", "--wave", "2026Q4", "-o", str(named),
               "--database", database_url).returncode == 0
    assert named.read_bytes()[:2] == b"PK"
    # Partial responses and labels in Chinese: the same options on both sides.
    bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 5, seed=5).iloc[:, :4], status="partial")
    console = client.get(f"/admin/waves/{wave_id}/export?format=csv&partial=1&lang=zh-CN")
    out = tmp_path / "partial.csv"
    assert csi("export", "--survey", "acsi-retail", "--wave", "2026Q4", "--include-partial", "--lang", "zh-CN",
               "-o", str(out), "--database", database_url).returncode == 0
    assert out.read_bytes() == console.data
    assert pd.read_csv(out, encoding="utf-8-sig")["status"].value_counts().to_dict() == {"complete": 60, "partial": 5}
    sav = tmp_path / "zh.sav"
    assert csi("export", "--survey", "acsi-retail", "--wave", "2026Q4", "--lang", "zh-CN", "-o", str(sav),
               "--database", database_url).returncode == 0
    assert pyreadstat.read_sav(sav)[1].column_names_to_labels["sat_overall"] == acsi.question("sat_overall").text.get("zh-CN")
    one_line_error(csi("export", "--survey", "acsi-retail", "--wave", "2026Q4", "--lang", "fr", "-o", str(sav),
                       "--database", database_url), r"^error: questionnaire 'acsi-retail' has no language 'fr'; its languages: en, zh-CN$")


def test_export_refuses_unwritable_output(stored_wave, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    base = ["export", "--survey", "acsi-retail", "--wave", "2026Q4", "--database", stored_wave]
    one_line_error(csi(*base, "-o", str(tmp_path / "missing" / "x.csv")), r"the folder .*missing does not exist$")
    one_line_error(csi(*base, "-o", str(tmp_path)), r"is a folder; give a file name$")
    result = csi(*base, "--format", "pdf", "-o", str(tmp_path / "x.pdf"))
    assert result.returncode == 2 and "'pdf' is not one of 'csv', 'xlsx', 'sav'" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- csi serve ---

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_serve_refuses_a_port_in_use(stored_wave, server):
    import os
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = csi("serve", "--port", str(port), "--database", stored_wave,
                     env={**os.environ, "CSI_SERVER": server})
    one_line_error(result, rf"^error: port {port} on 127.0.0.1 is already in use")


def wait_for(process, text: str, timeout: float = 60) -> str:
    """Lines of the process's output up to the first that contains ``text``."""
    import selectors
    import time

    seen, deadline = [], time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while time.monotonic() < deadline:
        if not selector.select(timeout=1):
            continue
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not seen in: {''.join(seen)}")


def test_second_granian_instance_on_the_same_port_fails(stored_wave, tmp_path):
    """Granian listens with SO_REUSEPORT: without the check a second server would share the port."""
    import os

    port = free_port()
    first = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "serve", "--port", str(port),
                              "--database", stored_wave], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "CSI_SERVER": "granian", "PYTHONUNBUFFERED": "1"})
    try:
        wait_for(first, "Started worker")
        second = csi("serve", "--port", str(port), "--database", f"sqlite:///{tmp_path / 'other.sqlite3'}")
        one_line_error(second, rf"^error: port {port} on 127.0.0.1 is already in use")
        assert not (tmp_path / "other.sqlite3").exists()
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_serve_warns_when_the_database_is_read_only(stored_wave, tmp_path):
    """A SQLite URL opened read-only, or a PostgreSQL database in read-only mode: a warning, then serving."""
    import os

    from sqlalchemy import text

    from models.storage import make_engine

    if stored_wave.startswith("sqlite"):
        url = f"sqlite:///file:{stored_wave[len('sqlite:///'):]}?mode=ro&uri=true"
        reason = "attempt to write a readonly database"
    else:
        url = stored_wave
        engine = make_engine(stored_wave)
        name = stored_wave.rsplit("/", 1)[1]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        engine.dispose()
        reason = "cannot execute UPDATE in a read-only transaction"
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "serve", "--port", str(port),
                                "--database", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "CSI_SERVER": "waitress", "PYTHONUNBUFFERED": "1"})
    try:
        seen = wait_for(process, "warning:")
        assert f"is read-only ({reason}" in seen and "respondents' answers cannot be stored" in seen
        assert process.poll() is None  # a warning: the server still starts
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_does_not_warn_on_a_writable_database(stored_wave):
    from sqlalchemy import text

    from models.storage import make_engine
    from survey_app.server import read_only_problem

    engine = make_engine(stored_wave)
    assert read_only_problem(engine) is None
    with engine.connect() as connection:  # the probe changed nothing
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() != ""
    engine.dispose()


def test_restore_of_a_foreign_file_is_one_line_and_changes_nothing(stored_wave, tmp_path):
    import sqlite3

    from sqlalchemy import text

    from models.storage import make_engine

    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE foo (x INTEGER)")
    result = csi("restore", str(foreign), "--yes", "--database", stored_wave)
    one_line_error(result, r"is not a csi-toolkit backup: it has no alembic_version table \(tables: foo\)$"
                   if stored_wave.startswith("sqlite") else r"is a SQLite backup; it restores into a SQLite database")
    engine = make_engine(stored_wave)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM responses")).scalar_one() == 40
    engine.dispose()
    one_line_error(csi("restore", str(tmp_path / "none.bin"), "--yes", "--database", stored_wave),
                   r"^error: no backup file .*none.bin$")
def test_fit_scales_and_dont_know_options(tmp_path, mobi, mobi_reference):
    spec = mobi_reference["model_ECSImobi"]
    model = tmp_path / "ecsi.model"
    model.write_text("\n".join(f"{b} =~ {' + '.join(i)}" for b, i in spec["blocks"].items()) + "\n"
                     + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"]) + "\n")
    data = mobi.copy()
    data["CUSCO"] = data["CUSCO"].clip(upper=6)  # 1..6: 1-7 or 1-10?
    data.loc[[0, 1], "CUSA1"] = 99
    path = tmp_path / "mixed.csv"
    data.to_csv(path, index=False)
    refused = csi("fit", "--model", str(model), "--data", str(path))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: item 'CUSA1' has answers 4..10 besides 99") and "--dont-know 99" in refused.stderr
    refused = csi("fit", "--model", str(model), "--data", str(path), "--dont-know", "99,98")
    assert refused.returncode == 1 and "item 'CUSCO': answers 1..6 fit the 1-7 or 1-10 scale" in refused.stderr
    scales = tmp_path / "scales.yaml"
    scales.write_text("CUSCO: 1-10\nIMAG1-IMAG5: 1-10\n")
    for option in ("CUSCO=1-10", str(scales)):
        done = csi("fit", "--model", str(model), "--data", str(path), "--dont-know", "99,98", "--scales", option, "--json")
        assert done.returncode == 0, done.stderr
        payload = json.loads(done.stdout)
        assert payload["n_used"] == 248 and any("2 don't-know" in note for note in payload["notes"])
    bad = csi("fit", "--model", str(model), "--data", str(path), "--scales", "CUSCO=ten")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: scale of 'CUSCO' is 'ten'; write MIN-MAX, e.g. 1-10"
    bad = csi("fit", "--model", str(model), "--data", str(path), "--dont-know", "n/a")
    assert bad.returncode == 1 and "--dont-know 'n/a': give numbers separated by commas" in bad.stderr


def test_validate_warns_but_passes_a_cost_item_on_a_quality_scale(tmp_path):
    from tests.models.test_questionnaire import COST_ON_QUALITY
    path = tmp_path / "cost.yaml"
    path.write_text(COST_ON_QUALITY, encoding="utf-8")
    result = csi("validate", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: ok: mini v1")
    assert lines[1].startswith(f"{path}:24: pages[0].questions[1].scale: warning: 'sat2' measures cost")
def test_fit_cbsem_json_on_ecsi_with_single_indicator_and_holes(tmp_path):
    """The issue's case: CB-SEM fits ECSI with its one-item complaints block (lavaan: chi2
    575.571 on 241 df); FIML + MLR on data with holes prints strict JSON (no NaN)."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    fixture = json.loads((data / "lavaan" / "mobi_ecsi_mar_mlr_ml.json").read_text())
    model = tmp_path / "ecsi.model"
    model.write_text(fixture["model"] + "\n")
    result = csi("fit", "--model", str(model), "--data", str(shared_file("mobi.csv")), "--method", "cbsem", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert payload["fit"]["chi2"] == pytest.approx(575.571, abs=1e-3) and payload["fit"]["df"] == 241
    result = csi("fit", "--model", str(model), "--data", str(data / "mobi_mar.csv"), "--method", "cbsem",
                 "--missing", "fiml", "--estimator", "mlr", "--allow-improper", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert payload["estimator"] == "MLR" and payload["n_used"] == 250
    assert payload["fit"]["chi2_scaled"] == pytest.approx(fixture["fit"]["chisq.scaled"], rel=1e-4)
    assert any("Heywood" in note for note in payload["notes"])
    refused = csi("fit", "--model", str(model), "--data", str(data / "mobi_mar.csv"), "--method", "cbsem",
                  "--missing", "fiml")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("error: improper solution (Heywood case): the estimated "
                                                              "variance of Satisfaction (-0.00296) is negative")


def test_fit_pls_refuses_cbsem_options(tmp_path):
    data = shared_file("political_democracy.csv")
    model = tmp_path / "m.model"
    model.write_text("A =~ x1 + x2 + x3\nB =~ y1 + y2\nB ~ A\n")
    result = csi("fit", "--model", str(model), "--data", str(data), "--estimator", "mlr")
    assert result.returncode == 1 and result.stderr.strip() == "error: --estimator and --allow-improper apply to --method cbsem"
    model.write_text("A =~ x1 + x2 + x3\nB =~ y1 + y2\n")
    result = csi("fit", "--model", str(model), "--data", str(data))
    assert result.returncode == 1 and "has no structural path" in result.stderr and "--method cbsem" in result.stderr
