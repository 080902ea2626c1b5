import json
import math

import numpy as np

from analysis.json_safe import json_ready


def test_non_finite_numbers_become_null_with_a_note():
    payload = {"fit": {"tli": math.nan, "chi2": 1.5}, "index": {"A": np.float64("inf"), "B": np.float64(2.0)},
               "paths": [{"se": -math.inf}], "notes": ["kept"]}
    out = json_ready(payload)
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["fit"] == {"tli": None, "chi2": 1.5}
    assert out["index"] == {"A": None, "B": 2.0} and out["paths"] == [{"se": None}]
    assert out["notes"] == ["kept", "null marks a number that is undefined here: fit.tli, index.A, paths[0].se"]
    assert payload["fit"]["tli"] != payload["fit"]["tli"]          # the input is not changed


def test_finite_payload_is_unchanged_and_gets_no_note():
    payload = {"a": [1, 2.5, "x", None, True], "notes": []}
    assert json_ready(payload) == payload
