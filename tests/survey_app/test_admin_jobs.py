"""The console's background jobs and stored analyses, on SQLite and PostgreSQL: the report
button queues a job and the job's page follows it to its download; a failed job shows
its error and an administrator retries it; the wave page, the API, `csi fit --survey`
and the report show one stored analysis, with the same p-values."""
import json
import re
import subprocess
import sys
import uuid

import pytest
from sqlalchemy.orm import Session

from models.storage import find_wave
from models.storage import jobs as job_store
from survey_app.jobs import run_job

from .conftest import https_client
from .test_admin import PASSWORD, accounts, admin_client, csrf_of, fielded, login  # noqa: F401  (fixtures)


@pytest.fixture
def queued_app(app, tmp_path, monkeypatch):
    """The app with its own queue (a file and a name of this test's) and reports folder."""
    app.config["QUEUE_FILE"] = str(tmp_path / "queue.sqlite3")
    app.config["QUEUE_NAME"] = f"t-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CSI_REPORTS_DIR", str(tmp_path / "reports"))
    return app


def wave_id_of(engine, name="2026Q4"):
    with Session(engine) as session:
        return find_wave(session, "acsi-retail", name).id


def post_form(client, page_url, action, data):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def run_queued(engine):
    for job_id in job_store.queued_jobs(engine):
        run_job(engine, job_id, "test")


def test_report_button_queues_a_job_followed_to_its_download(queued_app, admin_client, engine, fielded):
    queued_app.config["REPORT_BOOTSTRAP"] = 200
    queued_app.config["REPORT_PERMUTATIONS"] = 200
    wave_id = wave_id_of(engine)
    response = post_form(admin_client, f"/admin/waves/{wave_id}", f"/admin/waves/{wave_id}/report", {"lang": "en"})
    assert response.status_code == 302
    job_id = int(re.fullmatch(r"/admin/jobs/(\d+)", response.headers["Location"]).group(1))
    page = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "queued" in page and 'http-equiv="refresh"' in page  # the page follows the job
    # The stored analysis made for the report used the console's resamples.
    run_queued(engine)
    job = job_store.get_job(engine, job_id)
    assert job.status == "done", job.error
    page = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "done" in page and 'http-equiv="refresh"' not in page and "download HTML" in page
    download = admin_client.get(f"/admin/jobs/{job_id}/output/html")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == ('attachment; filename="report-acsi-retail-2026Q4.html"; '
                                                       "filename*=UTF-8''report-acsi-retail-2026Q4.html")
    html = download.get_data(as_text=True)
    assert "Satisfaction index" in html and "change from 2026Q3" in html and len(re.findall(r"<svg[^>]*class=\"figure\"", html)) >= 4  # figures inline as SVG
    shown = admin_client.get(f"/admin/jobs/{job_id}/output/html?view=1")
    policy = shown.headers["Content-Security-Policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy and "Content-Disposition" not in shown.headers
    assert admin_client.get(f"/admin/jobs/{job_id}/output/pdf").status_code == 404  # none was asked for
    assert admin_client.get(f"/admin/jobs/{job_id}/output/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert admin_client.get("/admin/jobs/99999").status_code == 404
    listing = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert f'id="job-{job_id}"' in listing and "report" in listing


def test_failed_job_shows_its_error_and_an_administrator_retries_it(queued_app, app, admin_client, engine, accounts):
    wave_id = wave_id_of(engine)  # no responses yet: the console says so and queues nothing ...
    wave_page = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    too_few = "The model can be estimated from 19 complete responses; this wave has 0 so far."
    assert too_few in wave_page and re.search(r'id="recompute" disabled', wave_page)
    for action in ("analysis", "report"):
        refused = post_form(admin_client, f"/admin/waves/{wave_id}", f"/admin/waves/{wave_id}/{action}", {})
        assert refused.headers["Location"].endswith(f"/admin/waves/{wave_id}")
        assert too_few in admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert job_store.list_jobs(engine) == []
    # ... and the same job queued elsewhere (the API, a schedule) fails, shows why, and is retried.
    job_id, _ = job_store.create_job(engine, "analysis", {"survey": "acsi-retail", "wave": "2026Q4"}, created_by="alice")
    run_queued(engine)
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "failed" in page and "wave &#39;2026Q4&#39; has 0 complete responses" in page and ">Retry<" in page
    viewer = https_client(app)
    assert login(viewer, "victor").status_code == 302
    viewer_page = viewer.get("/admin/jobs").get_data(as_text=True)
    assert ">Retry<" not in viewer_page
    assert viewer.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": csrf_of(viewer_page)}).status_code == 403
    retried = post_form(admin_client, "/admin/jobs", f"/admin/jobs/{job_id}/retry", {})
    assert retried.status_code == 302 and job_store.get_job(engine, job_id).status == "queued"
    again = post_form(admin_client, "/admin/jobs", f"/admin/jobs/{job_id}/retry", {})
    assert "only a failed job can be retried" in admin_client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_questionnaire_without_a_model_is_not_offered_analysis_or_report(queued_app, admin_client, engine, grid):
    """The matrix test questionnaire declares no model: its wave page says so, both buttons are
    off, and a forced post queues nothing."""
    with Session(engine) as session:
        wave_id = find_wave(session, "grid-retail", "W1").id
    page = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    reason = "This questionnaire declares no model, so there is nothing to estimate or report"
    assert reason in page and re.search(r'id="recompute" disabled', page) and re.search(r'id="create-report" disabled', page)
    assert "once the wave has enough responses" not in page
    for action in ("analysis", "report"):
        refused = post_form(admin_client, f"/admin/waves/{wave_id}", f"/admin/waves/{wave_id}/{action}", {})
        assert reason in admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert job_store.list_jobs(engine) == []


def test_one_stored_analysis_everywhere(queued_app, app, admin_client, engine, fielded, accounts, database_url):
    from analysis.report import build_report
    from analysis.stored import compute_analysis, wave_seed

    for wave in ("2026Q3", "2026Q4"):
        compute_analysis(engine, "acsi-retail", wave, n_boot=150, n_perm=100)
    page = admin_client.get(f"/admin/waves/{wave_id_of(engine)}").get_data(as_text=True)
    seed = wave_seed("acsi-retail", "2026Q4")
    assert re.search(r"Stored analysis computed at \d{4}-\d\d-\d\d \d\d:\d\d UTC, n = 300", page), page
    assert f"150 bootstrap resamples, 100 permutations, seed {seed}" in page and "Out of date" not in page
    api = https_client(app).get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices",
                                headers={"Authorization": f"Bearer {accounts['token']}"})
    assert api.status_code == 200
    stored = api.json
    assert (stored["status"], stored["current"], stored["seed"], stored["bootstrap"], stored["n"]) == ("stored", True, seed, 150, 300)
    api_p = {row["construct"]: row["p_value"] for row in stored["changes"] if row["reference"] == "2026Q3"}
    report = build_report(engine, "acsi-retail", "2026Q4")
    report_p = {c: row["p_value"] for (c, ref), row in report.context["changes"].items() if ref == "2026Q3"}
    assert api_p == report_p and len(api_p) >= 6  # the same p-values, not merely close
    assert report.context["seed"] == seed and report.context["n_boot"] == 150
    # Each Holm-adjusted p-value is shown on the wave page too, with its reading.
    api_holm = {row["construct"]: row for row in stored["changes"] if row["reference"] == "2026Q3"}
    satisfaction = api_holm["satisfaction"]
    assert f"({satisfaction['p_adjusted']:.3f}, {satisfaction['reading']}" in page
    fitted = subprocess.run([sys.executable, "-m", "survey_app.cli", "fit", "--database", database_url, "--survey",
                             "acsi-retail", "--wave", "2026Q4", "--json"], capture_output=True, text=True, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    payload = json.loads(fitted.stdout)
    api_index = {row["construct"]: row for row in stored["index"]}
    assert payload["stored_analysis"]["seed"] == seed
    assert payload["index"]["satisfaction"] == api_index["satisfaction"]["estimate"]
    intervals = {row["construct"]: row for row in payload["index_intervals"]}
    assert intervals["satisfaction"]["ci_low"] == api_index["satisfaction"]["ci_low"]
    assert [c["p_value"] for c in payload["stored_analysis"]["changes"]] == [c["p_value"] for c in stored["changes"]]
    # New responses: the wave page says the analysis is out of date, the API says so and queues a recomputation.
    from analysis.simulate import simulate_responses
    from models import load_questionnaire
    from models.storage import bulk_insert_responses
    import questionnaires
    acsi = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        bulk_insert_responses(engine, wave.questionnaire_version, wave, simulate_responses(acsi, 5, seed=9))
    assert "Out of date" in admin_client.get(f"/admin/waves/{wave_id_of(engine)}").get_data(as_text=True)
    later = https_client(app).get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices",
                                  headers={"Authorization": f"Bearer {accounts['token']}"}).json
    assert later["current"] is False and later["job"] is not None and later["n"] == 300
    assert job_store.get_job(engine, later["job"]).params["wave"] == "2026Q4"


def test_api_queues_a_wave_never_analysed(queued_app, app, engine, fielded, accounts):
    response = https_client(app).get("/api/v1/surveys/acsi-retail/waves/2026Q3/indices",
                                     headers={"Authorization": f"Bearer {accounts['token']}"})
    assert response.status_code == 202 and response.headers["Retry-After"] == "30"
    assert job_store.get_job(engine, response.json["job"]).kind == "analysis"


def test_api_refuses_a_wave_too_small_to_estimate_without_queueing(queued_app, app, engine, accounts):
    response = https_client(app).get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices",
                                     headers={"Authorization": f"Bearer {accounts['token']}"})
    assert response.status_code == 422
    assert response.json["error"] == ("wave '2026Q4' cannot be estimated yet: it has 0 complete responses and the "
                                      "model needs at least 19")
    assert job_store.list_jobs(engine) == []
