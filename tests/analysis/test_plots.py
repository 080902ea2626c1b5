import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from analysis import fit  # noqa: E402


@pytest.fixture(scope="module")
def results(ecsi_mobi_model, mobi):
    return fit(ecsi_mobi_model, mobi, n_boot=200, workers=1, progress=False)


@pytest.mark.parametrize("method", ["plot_paths", "plot_loadings", "plot_index"])
def test_figures_render_to_png(results, method, tmp_path):
    figure = getattr(results, method)()
    path = tmp_path / f"{method}.png"
    figure.savefig(path, dpi=60)
    assert path.stat().st_size > 5000
    plt.close(figure)


def test_drawing_on_given_axes_returns_that_figure(results):
    figure, (a, b) = plt.subplots(1, 2)
    assert results.plot_index(ax=a) is figure
    assert results.plot_loadings(ax=b) is figure
    labels = [t.get_text() for t in a.get_yticklabels()]
    assert labels == list(results.index_table["construct"])  # first construct drawn at the top
    plt.close(figure)


def test_path_diagram_labels_every_path_with_its_coefficient(results):
    figure = results.plot_paths()
    texts = [t.get_text() for t in figure.axes[0].texts]
    for value in results.path_coefficients["estimate"]:
        assert any(t.startswith(f"{value:.2f}") for t in texts), value
    assert sum("R² =" in t for t in texts) == len(results.r_squared)
    plt.close(figure)
