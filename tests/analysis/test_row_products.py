"""Per-respondent values computed on first use (analysis.row_products) equal the direct formulas."""
import copyreg
import io
import pickle
from types import MappingProxyType

import numpy as np
import pytest

from analysis import PLSPM
from analysis import statistics as st
from analysis.data import prepare
from analysis.row_products import RowProduct, materialized, read_only
from analysis.stored import read_only as stored_mapping


@pytest.fixture(scope="module")
def fitted(ecsi_mobi_model, mobi):
    return PLSPM(ecsi_mobi_model).fit(mobi)


def test_scores_and_index_equal_the_elementwise_formulas(fitted, ecsi_mobi_model, mobi):
    prepared = prepare(mobi, ecsi_mobi_model)
    X = prepared.values
    mom = st.moments(X)
    raw = np.array(fitted._weights) / mom.sd[0][:, None]
    np.testing.assert_allclose(fitted.scores.to_numpy(), (X - mom.means[0]) @ raw, rtol=0, atol=1e-12)
    items = list(fitted.structure.items)
    low = np.array([prepared.scales[i][0] for i in items])
    span = np.array([prepared.scales[i][1] for i in items]) - low
    to_index = np.array(fitted._index_weights)[:, None] * fitted.structure.mask
    np.testing.assert_allclose(fitted.respondent_index.to_numpy(), ((X - low) / span * 100) @ to_index,
                               rtol=0, atol=1e-11)


def test_a_fit_keeps_its_values_when_the_caller_changes_its_data(ecsi_mobi_model, mobi):
    prepared = prepare(mobi, ecsi_mobi_model)
    assert not prepared.values.flags.writeable  # prepare() hands out sealed values
    mine = np.array(prepared.values)            # a caller's own, writable matrix
    from dataclasses import replace
    results = PLSPM(ecsi_mobi_model).fit_prepared(replace(prepared, values=mine))
    before = results.scores.to_numpy()
    mine[:] = 0.0
    np.testing.assert_array_equal(results.scores.to_numpy(), before)


def test_pickled_results_store_the_computed_values(fitted):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)  # as analysis.stored pickles a fit (its read-only mappings as dicts)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[MappingProxyType] = lambda proxy: (stored_mapping, (dict(proxy),))
    pickler.dump(fitted)
    again = pickle.loads(buffer.getvalue())
    assert isinstance(again._respondent_index, np.ndarray) and not again._respondent_index.flags.writeable
    np.testing.assert_array_equal(again.respondent_index.to_numpy(), fitted.respondent_index.to_numpy())
    np.testing.assert_array_equal(again.scores.to_numpy(), fitted.scores.to_numpy())


def test_blank_columns_bounds_and_read_only():
    X = np.array([[1.0, 10.0], [10.0, 10.0], [4.0, 1.0]])
    product = RowProduct(X, np.array([[100 / 9, 0.0], [0.0, 100 / 9]]), np.array([100 / 9, 100 / 9]),
                         np.array([False, True]), bounds=(0.0, 100.0))
    values = materialized(product)
    np.testing.assert_allclose(values[:, 0], [0.0, 100.0, 100 / 3])
    assert values[:, 0].max() <= 100.0 and np.isnan(values[:, 1]).all() and not values.flags.writeable
    writable = np.ones((2, 2))
    assert read_only(writable) is not writable and read_only(read_only(writable)) is not writable
    sealed = read_only(writable)
    assert read_only(sealed) is sealed
