"""``csi text``: sentiment and themes of an open-answer column in a CSV file, or of an open
question of a stored wave (with the link to each respondent's satisfaction index, the change
from the previous wave and shares per segment)."""
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


def _tokenizer(user_words: str | None, stop_words: str | None, questionnaire=None):
    """Words from the files given, plus a stored questionnaire's own ``text_analysis`` words."""
    from analysis.text import Tokenizer

    own_user = tuple(questionnaire.user_words) if questionnaire is not None else ()
    own_stop = tuple(questionnaire.stop_words) if questionnaire is not None else ()
    return Tokenizer(user_words=tuple(dict.fromkeys(_word_file(user_words, "--user-words") + own_user)),
                     stop_words=frozenset(_word_file(stop_words, "--stop-words") + own_stop))


_user_words = click.option("--user-words", type=click.Path(), default=None,
                           help="Words to keep whole (product, store names), one per line, UTF-8.")
_stop_words = click.option("--stop-words", type=click.Path(), default=None,
                           help="Extra stop words for themes, one per line, UTF-8.")


def _source_options(function):
    """FILE --column C, or --survey S --wave W --question Q [--database URL]."""
    for option in reversed([
        click.argument("file", type=click.Path(), required=False),
        click.option("--column", help="The CSV column holding the answers (with FILE)."),
        click.option("--survey", help="A stored questionnaire's id (instead of FILE)."),
        click.option("--wave", help="The stored wave (with --survey)."),
        click.option("--question", help="The open-text question's id (with --survey)."),
        click.option("--database", "database_url", envvar="CSI_DATABASE_URL", default=None,
                     help="SQLAlchemy URL (default: SQLite file in ./instance, or $CSI_DATABASE_URL)."),
    ]):
        function = option(function)
    return function


def _check_source(file, column, survey, wave, question) -> None:
    if bool(file) == bool(survey):
        _fail("give either FILE.csv --column C, or --survey S --wave W --question Q")
    if file and not column:
        _fail("FILE needs --column (the column holding the answers)")
    if survey and not (wave and question):
        _fail("--survey needs --wave and --question")
    if survey and column:
        _fail("--column applies to a CSV file; with --survey give --question")


class StoredText:
    """An open question's answers in a stored wave (complete responses), with what the wave
    analysis needs beside them: the respondents' satisfaction index, the previous wave's
    answers, and segment values."""

    def __init__(self, survey: str, wave: str, question: str, database_url: str | None):
        from models.answers import answer_type
        from models.storage import load_wave_frame
        from models.storage.repository import StorageError, questionnaire_of_wave, wave_names
        from survey_app.cli import _open_database

        self.survey, self.wave, self.question = survey, wave, question
        self.engine, _ = _open_database(database_url)
        try:
            self.questionnaire = questionnaire_of_wave(self.engine, survey, wave)
        except StorageError as exc:
            _fail(str(exc))
        known = {q.id: q for q in self.questionnaire.questions}
        texts = [q.id for q in self.questionnaire.questions if answer_type(q).free_text]
        if question not in known:
            _fail(f"{survey}: no question {question!r}; its open-text questions: {', '.join(texts) or 'none'}")
        if not answer_type(known[question]).free_text:
            _fail(f"{survey}: question {question!r} is a {known[question].type} question, not open text; "
                  f"its open-text questions: {', '.join(texts) or 'none'}")
        self.frame = load_wave_frame(self.engine, survey, wave)
        if self.frame.empty:
            _fail(f"wave {wave!r} of {survey!r} has no complete responses yet")
        self.answers = (self.frame[question] if question in self.frame
                        else self.frame.index.to_series().map(lambda _: None)).rename(question)
        earlier = [name for name in wave_names(self.engine, survey) if name < wave]
        self.previous_wave = earlier[-1] if earlier else None

    def previous_answers(self) -> list | None:
        from models.storage import load_wave_frame

        if self.previous_wave is None:
            return None
        frame = load_wave_frame(self.engine, self.survey, self.previous_wave, columns=[self.question])
        return frame[self.question].tolist()

    def scores(self, construct: str | None):
        """Each respondent's 0-100 index of ``construct`` (default: the construct named like
        satisfaction) from the questionnaire's model fitted to the wave (no resampling: the
        scores do not depend on it); (None, note) when the model cannot be estimated."""
        from analysis import fit
        from analysis.data import DataError

        model = self.questionnaire.csi_model()
        constructs = list(model.construct_names)
        if construct is None:
            matches = [c for c in constructs if "satisf" in c.lower()]
            if not matches:
                return None, "no construct named like satisfaction; give --score-construct"
            construct = matches[0]
        elif construct not in constructs:
            _fail(f"{self.survey}: no construct {construct!r} in the model; its constructs: {', '.join(constructs)}")
        try:
            results = fit(model, self.frame, questionnaire=self.questionnaire)
        except (DataError, ValueError) as exc:
            return None, f"the satisfaction index could not be estimated: {exc}"
        index = results.respondent_index
        return index[construct].rename(construct), None

    def segment(self, name: str):
        from models.answers import answer_type
        from models.storage.repository import load_response_attributes

        if name in self.frame.columns:
            return self.frame[name].rename(name)
        attributes = load_response_attributes(self.engine, self.survey, self.wave)
        if name in attributes.columns:
            return attributes[name].rename(name)
        # Questions answered with one option of a list (a choice or a scale point) make segments.
        shown = sorted(set(attributes.columns) | {q.id for q in self.questionnaire.questions
                                                   if not answer_type(q).multiple and answer_type(q).choices(q)})
        _fail(f"{self.survey}/{self.wave}: no question or invitation attribute {name!r} to segment by; "
              f"try one of: {', '.join(shown[:15])}")


@click.group("text")
def text() -> None:
    """Open answers: sentiment per answer and themes (offline, Chinese and English)."""


@text.command()
@_source_options
@click.option("--lang", type=click.Choice(["zh-CN", "en", "auto"], case_sensitive=False), default="auto",
              show_default=True, help="Answer language; each answer is scored per script in any case.")
@_user_words
@click.option("--json", "as_json", is_flag=True, help="Print {\"rows\": [{row, sentiment, score}]}.")
def sentiment(file: str | None, column: str | None, survey: str | None, wave: str | None, question: str | None,
              database_url: str | None, lang: str, user_words: str | None, as_json: bool) -> None:
    """Sentiment (negative / neutral / positive, score -1..1) of each answer; rows from 0.

    With --survey, rows follow the stored responses in id order and name each one's
    ``response_id``."""
    from analysis.text import SentimentScorer
    from analysis.text.batch import segment_and_score

    _check_source(file, column, survey, wave, question)
    if survey:
        stored = StoredText(survey, wave, question, database_url)
        answers, respondents = stored.answers.tolist(), stored.answers.index.tolist()
    else:
        answers, respondents = read_column(file, column), None
    tokenizer = _tokenizer(user_words, None, stored.questionnaire if survey else None)
    scorer = SentimentScorer(lang, tokenizer=tokenizer)
    _, results = segment_and_score(answers, scorer=scorer)
    rows = [{"row": i, "sentiment": r.sentiment, "score": r.score} for i, r in enumerate(results)]
    if respondents is not None:
        for row, respondent in zip(rows, respondents):
            row["response_id"] = int(respondent)
    if as_json:
        click.echo(json.dumps({"rows": rows}, ensure_ascii=False))
        return
    for row in rows:
        prefix = f"{row['response_id']}\t" if "response_id" in row else ""
        click.echo(f"{row['row']}\t{prefix}{row['sentiment']}\t{row['score']:+.4f}")


@text.command()
@_source_options
@click.option("--k", "k", type=click.IntRange(1, 50), default=6, show_default=True, help="Number of themes.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the factorisation's start.")
@click.option("--lang", type=click.Choice(["zh-CN", "en", "auto"], case_sensitive=False), default="auto",
              show_default=True, help="Answer language for the sentiment per theme (with --survey).")
@click.option("--segment", help="With --survey: a question or invitation attribute (region, tier...) to show "
              "the themes' shares per value.")
@click.option("--score-construct", help="With --survey: the construct whose 0-100 index the themes are linked to "
              "(default: the one named like satisfaction).")
@_user_words
@_stop_words
@click.option("--json", "as_json", is_flag=True, help="Print themes as JSON.")
def themes(file: str | None, column: str | None, survey: str | None, wave: str | None, question: str | None,
           database_url: str | None, k: int, seed: int, lang: str, segment: str | None, score_construct: str | None,
           user_words: str | None, stop_words: str | None, as_json: bool) -> None:
    """Main themes (label of top words, share of answers, verbatim examples).

    With --survey: also sentiment per theme, the mean satisfaction index of respondents
    mentioning each theme against the others, the themes that separate dissatisfied from
    satisfied customers, the change from the previous wave, and (--segment) shares per segment."""
    from analysis.text import ThemeModel
    from analysis.text.batch import segment_and_score

    _check_source(file, column, survey, wave, question)
    if (segment or score_construct) and not survey:
        _fail("--segment and --score-construct apply to a stored wave (--survey)")
    if survey:
        stored = StoredText(survey, wave, question, database_url)
        _stored_themes(stored, k, seed, lang, segment, score_construct,
                       _tokenizer(user_words, stop_words, stored.questionnaire), as_json)
        return
    tokenizer = _tokenizer(user_words, stop_words)
    answers = read_column(file, column)
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


def _stored_themes(stored: StoredText, k: int, seed: int, lang: str, segment: str | None,
                   score_construct: str | None, tokenizer, as_json: bool) -> None:
    from analysis.text.wave import analyse_wave_text

    scores, score_note = stored.scores(score_construct)
    segments = stored.segment(segment) if segment else None
    try:
        result = analyse_wave_text(stored.answers, scores=scores, previous=stored.previous_answers(),
                                   segments=segments, k=k, lang=lang, tokenizer=tokenizer, seed=seed)
    except ValueError as exc:
        _fail(f"{stored.survey}/{stored.wave}: question {stored.question!r}: {exc}")
    notes = [score_note] if score_note else []
    if as_json:
        out = result.as_dict()
        out.update({"survey": stored.survey, "wave": stored.wave, "question": stored.question,
                    "previous_wave": stored.previous_wave,
                    "score_construct": None if scores is None else scores.name})
        for row in out["rows"]:
            row["response_id"] = int(row.pop("respondent"))
        out["notes"] = notes + out["notes"]
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"{stored.survey}/{stored.wave}, question {stored.question}"
               + (f", compared with {stored.previous_wave}" if stored.previous_wave else ""))
    click.echo(result.summary())
    for note in notes:
        click.echo(f"note: {note}")
