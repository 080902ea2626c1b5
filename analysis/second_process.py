"""A second process for the parts of a report that do not wait on each other.

A report from nothing computes five wave analyses, the reported wave's segments (which
need none of the other waves) and draws its figures. On two cores, the segments run in a
second process first, which then imports matplotlib and draws the reported wave's
figures (paths, drivers, segments, loyalty: started as soon as that wave's fit is made,
its segments kept there, ``Kept``), while this process analyses the trend's other waves;
the trend's figure comes last (docs/benchmarks.md, issue 16).

The second process is forked from this one on first use, so it starts with every module
already imported; it runs one task at a time, in the order submitted, with one BLAS
thread like this process, so its numbers are the same bits as if computed here (a test
compares the two reports). Arguments and results travel as pickles made with the stored
analyses' pickler (read-only mappings included). Where fork is unavailable, on one core,
or with ``CSI_REPORT_PROCESSES=1``, every task runs in this process when its result is asked for.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Mapping

from .bootstrap import single_blas_thread


def _available() -> bool:
    if os.environ.get("CSI_REPORT_PROCESSES", "").strip() == "1":
        return False
    if mp.current_process().daemon:  # a daemonic process may not start children
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and "fork" in mp.get_all_start_methods()


def _die_with(parent: int) -> None:
    """In the second process, first: on Linux, ask the kernel to end it when the process that
    started it dies (``prctl(PR_SET_PDEATHSIG)``), so a worker killed mid-report leaves no
    process behind waiting for tasks forever. Strictly it is the starting *thread*'s end: a
    ``SecondProcess`` is opened and closed within one call on one thread, as the report and
    ``compute_analysis`` do. Elsewhere nothing (the pool ends it on close)."""
    import signal
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(0)


# In the second process: results of earlier tasks kept by name for the tasks after them
# (``later(..., keep=name)``, ``Kept(name)``), so a result need not travel to this process
# and back before the next task can use it.
_kept: dict[str, Any] = {}


class Kept:
    """An argument of ``later`` standing for the result an earlier task kept as ``name``
    (``later(..., keep=name)``); ``index`` picks one element of it."""

    def __init__(self, name: str, index: int | None = None):
        self.name, self.index = name, index

    def resolve(self, kept: Mapping[str, Any]) -> Any:
        value = kept[self.name]
        return value if self.index is None else value[self.index]


def _resolved(args: tuple, kept: Mapping[str, Any]) -> tuple:
    return tuple(a.resolve(kept) if isinstance(a, Kept) else a for a in args)


def _run(payload: bytes) -> bytes:
    """In the second process: call the pickled (function, args, keep) and pickle its result."""
    from .stored import pickle_bytes
    function, args, keep = pickle.loads(payload)
    with single_blas_thread():
        result = function(*_resolved(args, _kept))
    if keep is not None:
        _kept[keep] = result
    return pickle_bytes(result)


def warm_figures() -> None:
    """Import matplotlib and register the fonts (about a third of a second), ahead of drawing."""
    from .plots import use_cjk_fonts
    import matplotlib.pyplot  # noqa: F401
    use_cjk_fonts()


def warm_report_imports() -> None:
    """For a process that makes many reports (a worker): import now, once, what a report
    otherwise imports on first use. matplotlib and its fonts are then inherited by every
    second process forked for a report instead of imported in each (0.6 s of a report from
    nothing); SciPy's special functions serve the delivered-value regression's t-tests."""
    warm_figures()
    import scipy.special  # noqa: F401


class _LazyKept(dict):
    """Kept results of calls made in this process (a disabled ``SecondProcess``): looking a
    name up makes the call that keeps it."""

    def __init__(self, calls: Mapping[str, Callable[[], Any]]):
        super().__init__()
        self._calls = calls

    def __missing__(self, name: str) -> Any:
        return self._calls[name]()


class Later:
    """A task given to :meth:`SecondProcess.later`: call it for the result (waiting for it)."""

    def __init__(self, result: Callable[[], Any], future=None):
        self._result, self._future = result, future

    def __call__(self) -> Any:
        return self._result()

    def take_back(self) -> bool:
        """True when the second process had not started the task and now never will (the
        caller does it itself); False when it is under way there, done, or next in line."""
        return self._future is not None and self._future.cancel()


class SecondProcess:
    """``later(function, *args)`` starts ``function(*args)`` in the second process (forked on
    first use) and returns a call that waits for and returns its result. Used as a context
    manager; leaving it ends the process (after its running task)."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = _available() if enabled is None else enabled
        self._pool: ProcessPoolExecutor | None = None
        self.submitted = 0  # tasks handed to the second process
        self._local: dict[str, Callable[[], Any]] = {}  # disabled: the calls whose results are kept

    @property
    def started(self) -> bool:
        return self._pool is not None

    def later(self, function: Callable[..., Any], *args, keep: str | None = None) -> "Later":
        """``function(*args)`` in the second process; ``keep``: also keep its result there
        under that name for later tasks (a ``Kept(name)`` argument). Returns the call that
        waits for the result (a ``Later``)."""
        if not self.enabled:
            # In this process, when asked for (at most once); a Kept argument asks for the
            # call that keeps it, so the order the calls are asked in does not matter.
            result: list = []

            def call() -> Any:
                if not result:
                    result.append(function(*_resolved(args, _LazyKept(self._local))))
                return result[0]
            if keep is not None:
                self._local[keep] = call
            return Later(call)
        from .stored import pickle_bytes
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"),
                                             initializer=_die_with, initargs=(os.getpid(),))
        future = self._pool.submit(_run, pickle_bytes((function, args, keep)))
        self.submitted += 1
        return Later(lambda: pickle.loads(future.result()), future)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "SecondProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
