"""Shared fixtures. Reference data (published data sets and published results) lives in
tests/data/, whose README names each one's publication and source, so a clone runs the whole
reference suite."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def shared_file(name: str) -> Path:
    """A reference file in tests/data/ (a missing one is an error, never a skip)."""
    path = DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"reference data {path} is missing from the repository (see tests/data/README.md)")
    return path


@pytest.fixture(scope="session")
def mobi() -> pd.DataFrame:
    return pd.read_csv(shared_file("mobi.csv"))


@pytest.fixture(scope="session")
def mobi_reference() -> dict:
    return json.loads(shared_file("mobi_reference.json").read_text())


@pytest.fixture(scope="session")
def ecsi_mobi_model(mobi_reference):
    from models import parse_model

    spec = mobi_reference["model_ECSImobi"]
    text = "\n".join(f"{b} =~ {' + '.join(items)}" for b, items in spec["blocks"].items())
    text += "\n" + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"])
    return parse_model(text, name="ecsi_mobi")


@pytest.fixture(scope="session")
def bank_survey():
    """Sanchez's bank survey (R plspm): (data, reference dict, blocks {construct: items}, model)."""
    from models import parse_model

    ref = json.loads(shared_file("satisfaction_bank_reference.json").read_text())
    data = pd.read_csv(shared_file("satisfaction_bank.csv"))
    blocks = {name: [f"{spec.split('1-')[0]}{k}" for k in range(1, int(spec.split('-')[1]) + 1)]
              for name, spec in ref["model"]["blocks"].items()}
    text = "\n".join(f"{n} =~ {' + '.join(i)}" for n, i in blocks.items())
    text += "\n" + "\n".join(f"{t} ~ {s}" for s, t in ref["model"]["paths"])
    return data, ref, blocks, parse_model(text)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


def postgres_url() -> str | None:
    return os.environ.get("CSI_TEST_POSTGRES_URL")


def scratch_postgres():
    """A fresh empty PostgreSQL database (a context manager yielding its URL), or the test
    skipped where no server is configured."""
    base = postgres_url()
    if not base:
        pytest.skip("CSI_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL server)")
    from models.storage.db import scratch_postgres_database

    return scratch_postgres_database(base, "csi_test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh empty database on each backend; PostgreSQL gets its own schema-free database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with scratch_postgres() as url:
        yield url
