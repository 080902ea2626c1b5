"""``csi text``: sentiment and themes of an open-answer column in a CSV file."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click

# A very long answer (a pasted complaint letter) must not stop the file; 16 MB per field.
_FIELD_LIMIT = 16 * 1024 * 1024


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def read_column(path: str, column: str) -> list[str]:
    """The answers in ``column`` of the CSV file, in file order, or a one-line error."""
    file = Path(path)
    if not file.is_file():
        _fail(f"{path}: no such file")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        _fail(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
              f"save the file as UTF-8 CSV")
    if not text.strip():
        _fail(f"{path}: the file is empty")
    csv.field_size_limit(_FIELD_LIMIT)
    # strict: an unclosed quote would otherwise swallow every later row into one answer and
    # shift the row numbers silently.
    # io.StringIO with newline="": only \r and \n end a record (str.splitlines would also cut
    # at U+2028, U+0085 or a form feed inside a pasted answer and shift every later row).
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        names = [h.strip() for h in header]
        if column not in names:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            _fail(f"{path}: no column {column!r} (columns: {shown})")
        index = names.index(column)
        answers = [row[index] if index < len(row) else "" for row in reader]
    except csv.Error as exc:
        _fail(f"{path}:{reader.line_num}: malformed CSV: {exc}")
    return answers


def _word_file(path: str | None, option: str) -> tuple[str, ...]:
    if not path:
        return ()
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        _fail(f"{option} {path}: {exc.strerror}")
    except UnicodeDecodeError:
        _fail(f"{option} {path}: not UTF-8 text")
    # One word per line; jieba's user-dictionary lines "word freq tag" keep their first field.
    return tuple(line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _tokenizer(user_words: str | None, stop_words: str | None):
    from analysis.text import Tokenizer

    return Tokenizer(user_words=_word_file(user_words, "--user-words"),
                     stop_words=frozenset(_word_file(stop_words, "--stop-words")))


_user_words = click.option("--user-words", type=click.Path(), default=None,
                           help="Words to keep whole (product, store names), one per line, UTF-8.")
_stop_words = click.option("--stop-words", type=click.Path(), default=None,
                           help="Extra stop words for themes, one per line, UTF-8.")


@click.group("text")
def text() -> None:
    """Open answers: sentiment per answer and themes (offline, Chinese and English)."""


@text.command()
@click.argument("file", type=click.Path())
@click.option("--column", required=True, help="The column holding the answers.")
@click.option("--lang", type=click.Choice(["zh-CN", "en", "auto"], case_sensitive=False), default="auto",
              show_default=True, help="Answer language; each answer is scored per script in any case.")
@_user_words
@click.option("--json", "as_json", is_flag=True, help="Print {\"rows\": [{row, sentiment, score}]}.")
def sentiment(file: str, column: str, lang: str, user_words: str | None, as_json: bool) -> None:
    """Sentiment (negative / neutral / positive, score -1..1) of each answer; rows from 0."""
    from analysis.text import SentimentScorer
    from analysis.text.batch import segment_and_score

    answers = read_column(file, column)
    scorer = SentimentScorer(lang, tokenizer=_tokenizer(user_words, None))
    _, results = segment_and_score(answers, scorer=scorer)
    rows = [{"row": i, "sentiment": r.sentiment, "score": r.score} for i, r in enumerate(results)]
    if as_json:
        click.echo(json.dumps({"rows": rows}, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['row']}\t{row['sentiment']}\t{row['score']:+.4f}")


@text.command()
@click.argument("file", type=click.Path())
@click.option("--column", required=True, help="The column holding the answers.")
@click.option("--k", "k", type=click.IntRange(1, 50), default=6, show_default=True, help="Number of themes.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the factorisation's start.")
@_user_words
@_stop_words
@click.option("--json", "as_json", is_flag=True, help="Print themes as JSON.")
def themes(file: str, column: str, k: int, seed: int, user_words: str | None, stop_words: str | None,
           as_json: bool) -> None:
    """Main themes (label of top words, share of answers, verbatim examples)."""
    from analysis.text import ThemeModel
    from analysis.text.batch import segment_and_score

    answers = read_column(file, column)
    tokenizer = _tokenizer(user_words, stop_words)
    tokens, _ = segment_and_score(answers, tokenizer=tokenizer)
    try:
        results = ThemeModel(k=k, tokenizer=tokenizer, random_state=seed).fit(answers, tokens=tokens)
    except ValueError as exc:
        _fail(f"{file}: column {column!r}: {exc}")
    if as_json:
        out = results.as_dict()
        out["rows"] = [{"row": i, "themes": [int(j) for j in results.mentions[i].nonzero()[0]]}
                       for i in range(results.n_answers)]
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(results.summary())
