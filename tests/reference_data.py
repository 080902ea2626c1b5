"""Where the tests (and bench/) read reference data from.

The three published data sets the reference suite is built on (mobi, Bollen's political
democracy, the plspm bank satisfaction survey; publications and sources in
tests/data/README.md) are not committed here: they are read from the shared reference
folder every developer and CI run has at ``../shared/data`` beside the project's root (or
from ``CSI_REFERENCE_DATA``), and checked against the SHA-256 they had when the published
results were matched to them. Everything else (our fixtures, lavaan's and seminr's outputs,
data derived from these sets) lives in tests/data/.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# name -> SHA-256 of the file the published results were matched against.
SHARED = {
    "mobi.csv": "eeedf61c7a980dda4c13cb39102d31da859e70d39d86f7d67437ad60e2e789ef",
    "political_democracy.csv": "bc07e8462c433bb5253a7ae04ce20edfa8efd75c63b40b2262da11efad8d2488",
    "satisfaction_bank.csv": "a960a25934709119502f314cc18041b57e04daae70b82d4756a6672dd47770de",
}


class ReferenceDataMissing(FileNotFoundError):
    """A shared reference data set is not where it is looked for."""


def shared_folders() -> list[Path]:
    """The folders a shared data set is looked for in, in order."""
    folders = [Path(os.environ["CSI_REFERENCE_DATA"])] if os.environ.get("CSI_REFERENCE_DATA") else []
    return folders + [ROOT.parent / "shared" / "data"]


def reference_file(name: str) -> Path:
    """The path of reference file ``name``: a shared data set from the shared folder (its
    SHA-256 checked), anything else from tests/data/. A missing or altered file raises,
    naming where it was looked for."""
    if name not in SHARED:
        path = DATA / name
        if not path.is_file():
            raise FileNotFoundError(f"reference data {path} is missing from the repository (see tests/data/README.md)")
        return path
    for folder in shared_folders():
        path = folder / name
        if path.is_file():
            _check(path, SHARED[name])
            return path
    looked = ", ".join(str(folder) for folder in shared_folders())
    raise ReferenceDataMissing(f"{name} is not in {looked}: put the published data set there "
                               "(sources in tests/data/README.md) or point CSI_REFERENCE_DATA at its folder")


@functools.cache
def _check(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ValueError(f"{path} is not the data set the reference results were matched to "
                         f"(SHA-256 {digest[:12]}..., expected {expected[:12]}...)")
