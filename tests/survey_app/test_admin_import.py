"""The console's import form (the wave page), on SQLite and PostgreSQL: the upload becomes a
background job; a file with problems fails with every FILE:ROW: column: message on the
job's page and stores nothing; a good file is imported; the uploaded file never outlives
its job; viewers cannot import."""
import io
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage import jobs as job_store
from models.storage import load_wave_frame
from models.storage.tables import Response

from .conftest import https_client
from .test_admin import PASSWORD, accounts, admin_client, csrf_of, login  # noqa: F401  (fixtures)
from .test_admin_jobs import queued_app, run_queued, wave_id_of  # noqa: F401  (fixtures)


@pytest.fixture
def imports(queued_app, tmp_path, monkeypatch):
    folder = tmp_path / "imports"
    monkeypatch.setenv("CSI_IMPORTS_DIR", str(folder))
    return folder


def upload(client, wave_id, name, data: bytes, **form):
    page = client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    return client.post(f"/admin/waves/{wave_id}/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_of(page), "file": (io.BytesIO(data), name), **form})


def count(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count(Response.id)))


def test_import_form_runs_a_job_that_reports_every_problem(imports, admin_client, engine, accounts):
    wave_id = wave_id_of(engine)
    page = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert 'id="import-form"' in page and "csi import --survey acsi-retail --wave 2026Q4 FILE" in page
    bad = "exp_overall,exp_reliability\n非常好,9\n0,Excellent\n12,very\n".encode("gb18030")  # Chinese Excel CSV
    response = upload(admin_client, wave_id, "field work.csv", bad)
    assert response.status_code == 302
    job_id = int(re.fullmatch(r"/admin/jobs/(\d+)", response.headers["Location"]).group(1))
    assert len(list(imports.iterdir())) == 1  # kept under a random name until the job has run
    run_queued(engine)
    job = job_store.get_job(engine, job_id)
    assert job.status == "failed"
    assert job.error.splitlines() == [
        "nothing was imported: 3 problems",
        "field work.csv:3: exp_overall: 0 is outside the scale 1..10; don't know is 99",
        "field work.csv:4: exp_overall: 12 is outside the scale 1..10; don't know is 99",
        "field work.csv:4: exp_reliability: 'very' is not a rating; expected a number or a label of its scale"]
    shown = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "field work.csv:4: exp_reliability: &#39;very&#39; is not a rating" in shown
    assert count(engine) == 0 and list(imports.iterdir()) == []
    # With "skip bad rows" the good row goes in; the job's page says what was skipped.
    response = upload(admin_client, wave_id, "field work.csv", bad, skip_bad_rows="1")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    run_queued(engine)
    job = job_store.get_job(engine, job_id)
    assert job.status == "done", job.error
    assert job.output["summary"] == ("field work.csv: 3 rows read (GB18030 (Chinese Excel CSV)), 1 responses imported, "
                                     "2 bad rows skipped")
    shown = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "1 responses imported" in shown and "field work.csv:3: exp_overall: 0 is outside" in shown
    assert "Skipped:" in shown and "已跳过" not in shown
    shown_zh = admin_client.get(f"/admin/jobs/{job_id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "已跳过：" in shown_zh and "Skipped:" not in shown_zh
    assert count(engine) == 1 and list(imports.iterdir()) == []
    assert load_wave_frame(engine, "acsi-retail", "2026Q4")["exp_overall"].tolist() == [10.0]  # 非常好, its label


def test_import_form_refuses_other_files_and_viewers(imports, app, admin_client, engine, accounts):
    wave_id = wave_id_of(engine)
    refused = upload(admin_client, wave_id, "data.json", b"{}")
    assert refused.status_code == 302
    page = admin_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "data.json: cannot import .json; choose a .csv, .xlsx or .sav file." in page
    page = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    empty = admin_client.post(f"/admin/waves/{wave_id}/import", data={"csrf_token": csrf_of(page)})
    assert "Choose the file to import" in admin_client.get(empty.headers["Location"]).get_data(as_text=True)
    viewer = https_client(app)
    assert login(viewer, "victor").status_code == 302
    assert 'id="import-form"' not in viewer.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert upload(viewer, wave_id, "a.csv", b"exp_overall\n5\n").status_code == 403
    assert not imports.exists() or list(imports.iterdir()) == []
