"""Where reference data come from (tests/reference_data.py): the published data sets from the
shared folder, checked by SHA-256; a missing or altered one named, never read silently."""
import shutil

import pytest

from tests import reference_data
from tests.conftest import shared_file
from tests.reference_data import SHARED, ReferenceDataMissing, reference_file


def test_a_published_data_set_is_read_from_the_folder_named_and_checked(tmp_path, monkeypatch):
    found = shared_file("mobi.csv")  # the shared folder every CI run and developer has (skips without it)
    copy = tmp_path / "mobi.csv"
    shutil.copyfile(found, copy)
    monkeypatch.setenv("CSI_REFERENCE_DATA", str(tmp_path))
    assert reference_file("mobi.csv") == copy
    assert reference_file("mobi_reference.json") == reference_data.DATA / "mobi_reference.json"  # ours: tests/data


def test_an_altered_data_set_is_refused(tmp_path, monkeypatch):
    (tmp_path / "satisfaction_bank.csv").write_text("IMAG1,IMAG2\n1,2\n")
    monkeypatch.setenv("CSI_REFERENCE_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="satisfaction_bank.csv is not the data set the reference results were "
                                         "matched to"):
        reference_file("satisfaction_bank.csv")


def test_a_missing_data_set_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("CSI_REFERENCE_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(reference_data, "ROOT", tmp_path / "clone")  # a clone with no ../shared beside it
    with pytest.raises(ReferenceDataMissing, match=r"political_democracy.csv is not in .*empty, .*shared/data"):
        reference_file("political_democracy.csv")
    with pytest.raises(FileNotFoundError, match="missing from the repository"):
        reference_file("no_such_fixture.json")


def test_none_of_the_published_data_sets_is_committed():
    assert not any((reference_data.DATA / name).exists() for name in SHARED)
