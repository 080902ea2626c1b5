"""The report's second process (analysis/second_process.py): a report from nothing whose
segments and figures were made in a forked process is the same, bit for bit, as one made
in a single process. Real SQLite database."""
import pandas as pd
import pytest
from sqlalchemy import text

from analysis import report as report_module
from analysis import second_process
from analysis.report import build_report
from analysis.second_process import Kept, SecondProcess
from analysis.stored import read_stored

from .test_stored import acsi, fielded  # noqa: F401  (fixture and helper)


def _report_from_nothing(engine, monkeypatch, enabled: bool):
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM wave_analyses"))
        connection.execute(text("DELETE FROM report_figures"))
    made = []

    class Recorded(SecondProcess):
        def __init__(self):
            super().__init__(enabled=enabled)
            made.append(self)
    monkeypatch.setattr(report_module, "SecondProcess", Recorded)
    report = build_report(engine, "acsi-retail", "2026Q4", n_boot=40, n_perm=30)
    return report, read_stored(engine, "acsi-retail", "2026Q4"), sum(helper.submitted for helper in made)


def test_report_from_nothing_is_the_same_with_a_second_process(sqlite_url, acsi, monkeypatch):  # noqa: F811
    engine = fielded(sqlite_url, acsi, ["2026Q3", "2026Q4"])
    import matplotlib.pyplot  # noqa: F401  (as in a worker: this process draws the figures the second has not started)
    forked, forked_stored, submitted = _report_from_nothing(engine, monkeypatch, enabled=True)
    # matplotlib's import, the segments, the wave's four figures (started when its fit was made,
    # drawn after the segments kept there) and the trend's figure.
    assert submitted == 7
    alone, alone_stored, none = _report_from_nothing(engine, monkeypatch, enabled=False)
    assert none == 0
    assert forked.context["segments"] and forked.figures == alone.figures

    def page(report):
        return [line for line in report.html().splitlines() if "Generated" not in line]
    assert page(forked) == page(alone)
    for a, b in zip(forked_stored.segments, alone_stored.segments, strict=True):
        pd.testing.assert_frame_equal(a.index_table, b.index_table, check_exact=True)
        pd.testing.assert_frame_equal(a.mga, b.mga, check_exact=True)
    assert forked_stored.segment_change == alone_stored.segment_change
    engine.dispose()


@pytest.mark.parametrize("enabled", [True, False])
def test_a_result_kept_in_the_second_process_is_an_argument_of_later_tasks(enabled):
    with SecondProcess(enabled=enabled) as helper:
        numbers = helper.later(sorted, [3, 1, 2], keep="numbers")
        largest = helper.later(max, Kept("numbers"))
        first = helper.later(abs, Kept("numbers", 0))
        # In one process the calls run when asked for, in any order: a kept result is made first.
        assert (first(), largest(), numbers()) == (1, 3, [1, 2, 3])
        assert helper.submitted == (3 if enabled else 0)


def test_figures_the_second_process_has_not_started_are_drawn_here_last_first():
    import time

    from analysis.report import _gathered
    made_here = []

    def here(k):
        made_here.append(k)
        return {f"segment_{k}": "here"}
    with SecondProcess(enabled=True) as helper:
        busy = helper.later(time.sleep, 1.0)
        time.sleep(0.3)  # under way there
        tasks = [(helper.later(dict, [(f"segment_{k}", "there")]), lambda k=k: here(k)) for k in range(5)]
        assert not busy.take_back()
        drawn = _gathered(tasks, take_back=True)
        busy()
    assert list(drawn) == [f"segment_{k}" for k in range(5)]  # the page's order, wherever drawn
    # The process pool hands at most two tasks ahead to its worker; the rest came back, last first.
    assert len(made_here) >= 3 and made_here == list(range(4, 4 - len(made_here), -1))
    assert [drawn[f"segment_{k}"] for k in range(5)] == ["there"] * (5 - len(made_here)) + ["here"] * len(made_here)
    # Without taking back, the second process does them all.
    before = len(made_here)
    with SecondProcess(enabled=True) as helper:
        drawn = _gathered([(helper.later(dict, [(f"segment_{k}", "there")]), lambda k=k: here(k)) for k in range(3)],
                          take_back=False)
    assert set(drawn.values()) == {"there"} and len(made_here) == before


def test_a_failure_in_the_second_process_reaches_the_caller():
    with SecondProcess(enabled=True) as helper:
        result = helper.later(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            result()


def test_one_process_when_asked(monkeypatch):
    monkeypatch.setenv("CSI_REPORT_PROCESSES", "1")
    assert not second_process._available()
    with SecondProcess() as helper:
        assert helper.later(sum, [1, 2])() == 3 and helper.submitted == 0


def test_the_second_process_ends_with_the_process_that_started_it(tmp_path):
    """A worker killed mid-report (SIGKILL) leaves no second process waiting for tasks."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, sys, time\n"
              "from analysis.second_process import SecondProcess\n"
              "helper = SecondProcess(enabled=True)\n"
              "print(helper.later(os.getpid)(), flush=True)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the second process {child} outlived its parent")
