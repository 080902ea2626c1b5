"""Many answers at once, on all cores: segmentation and sentiment in worker processes.

jieba and VADER are pure Python, so threads would not help; answers are cut into chunks
and scored in a process pool. With the "fork" start method (Linux) the workers inherit the
loaded jieba dictionary and lexicons; elsewhere each worker loads them once (~2 s).
"""
from __future__ import annotations

import multiprocessing
import os

from analysis.text.segment import Tokenizer
from analysis.text.sentiment import SentimentResult, SentimentScorer

_MIN_PARALLEL = 4000  # below this, starting processes costs more than it saves
_CHUNK = 2000
_work: tuple[Tokenizer, SentimentScorer | None] | None = None


def _init(tokenizer: Tokenizer, scorer: SentimentScorer | None) -> None:
    global _work
    _work = (tokenizer, scorer)


def _run(texts: list) -> list[tuple[list[str], SentimentResult | None]]:
    tokenizer, scorer = _work
    out = []
    for text in texts:
        words = tokenizer.words(text) if isinstance(text, str) else []
        out.append((tokenizer.content(words), scorer.score(text, words) if scorer else None))
    return out


def segment_and_score(texts, tokenizer: Tokenizer | None = None, scorer: SentimentScorer | None = None,
                      processes: int | None = None) -> tuple[list[list[str]], list[SentimentResult] | None]:
    """(content tokens per answer, sentiment per answer or None when no scorer), in order.

    processes: worker count (default: the machine's cores); 1 runs in this process.
    """
    texts = list(texts)
    tokenizer = tokenizer or (scorer.tokenizer if scorer else Tokenizer())
    processes = processes or os.cpu_count() or 1
    chunks = [texts[i:i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
    if processes <= 1 or len(texts) < _MIN_PARALLEL:
        _init(tokenizer, scorer)
        parts = [_run(c) for c in chunks]
    else:
        tokenizer.words("预热")  # load jieba's dictionary before forking, so workers share it
        if scorer:
            scorer.score("预热 warm")
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(processes, initializer=_init, initargs=(tokenizer, scorer)) as pool:
            parts = pool.map(_run, chunks)
    pairs = [p for part in parts for p in part]
    tokens = [p[0] for p in pairs]
    return tokens, ([p[1] for p in pairs] if scorer else None)
