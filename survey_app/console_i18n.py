"""The console's interface strings (English and Simplified Chinese) and how a page picks its language.

Each console module registers its own keys with ``register_strings`` (a key belongs to one
module: a second registration of it is refused, so two modules never silently disagree on
a text). Templates call ``ct(key, **values)``; Python code (flash messages, form errors)
calls ``ct`` too, in the request's language. The language is the one chosen with the switch
in the console's header (a cookie of its own: ``session.clear()`` at login must not forget
it), else the best of en / zh-CN in the browser's Accept-Language, else English.

The CLI stays English; the respondent side has its own table (``survey_app.i18n``).
"""
from __future__ import annotations

from string import Formatter

from flask import g, has_request_context, request

CONSOLE_LANGUAGES = ("en", "zh-CN")
LANGUAGE_NAMES = {"en": "English", "zh-CN": "中文"}
COOKIE = "csi_console_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds: a person's language does not change between logins

_STRINGS: dict[str, dict[str, str]] = {language: {} for language in CONSOLE_LANGUAGES}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def register_strings(table: dict[str, dict[str, str]]) -> None:
    """Add ``{language: {key: text}}`` to the console's table.

    Every key must be given in every console language with the same ``{placeholders}``
    (a page half in English, or a Chinese text that drops a number, is refused here, at
    import, not found by a reader); a key registered before is refused (ValueError).
    """
    unknown = set(table) - set(CONSOLE_LANGUAGES)
    if unknown:
        raise ValueError(f"console strings: unknown language(s) {sorted(unknown)}; expected {list(CONSOLE_LANGUAGES)}")
    keys = set().union(*(set(texts) for texts in table.values())) if table else set()
    problems = []
    for language in CONSOLE_LANGUAGES:
        missing = keys - set(table.get(language, {}))
        if missing:
            problems.append(f"missing in {language}: {', '.join(sorted(missing))}")
    duplicates = sorted(keys & set(_STRINGS["en"]))
    if duplicates:
        problems.append(f"already registered: {', '.join(duplicates)}")
    if not problems:
        for key in sorted(keys):
            expected = _fields(table["en"][key])
            for language in CONSOLE_LANGUAGES[1:]:
                if _fields(table[language][key]) != expected:
                    problems.append(f"{key}: {language} placeholders {sorted(_fields(table[language][key]))} "
                                    f"differ from en {sorted(expected)}")
    if problems:
        raise ValueError("console strings refused: " + "; ".join(problems))
    for language in CONSOLE_LANGUAGES:
        _STRINGS[language].update(table[language])


def register_pairs(pairs: dict[str, tuple[str, str]]) -> None:
    """:func:`register_strings` for a table written as ``{key: (English, Chinese)}``, the form
    the console's string modules keep their texts in (each key's two texts side by side)."""
    register_strings({"en": {key: en for key, (en, _) in pairs.items()},
                      "zh-CN": {key: zh for key, (_, zh) in pairs.items()}})


def registered_keys() -> frozenset[str]:
    return frozenset(_STRINGS["en"])


def strings(language: str) -> dict[str, str]:
    """A copy of one language's table (for tests and checks)."""
    return dict(_STRINGS[language])


def language_from_request() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in CONSOLE_LANGUAGES:
        return chosen
    # "zh" stands for any Chinese the browser asks for (zh, zh-TW, zh-Hans-CN): Simplified
    # Chinese is closer to what such a reader wants than English.
    best = request.accept_languages.best_match(list(CONSOLE_LANGUAGES) + ["zh"])
    if best == "zh":
        return "zh-CN"
    return best or "en"


def console_language() -> str:
    """The language of this request's console page: the switch's cookie, else Accept-Language, else en."""
    if not has_request_context():
        return "en"
    if "console_language" not in g:
        g.console_language = language_from_request()
    return g.console_language


def translate(language: str, key: str, **values) -> str:
    """``key``'s text in ``language`` with ``values`` filled in; KeyError for a key nobody registered."""
    table = _STRINGS.get(language) or _STRINGS["en"]
    text = table[key]
    return text.format(**values) if values else text


def ct(key: str, **values) -> str:
    """``key``'s text in the request's console language (a Jinja global and a Python helper)."""
    return translate(console_language(), key, **values)


def cv(group: str, value) -> str:
    """A stored value shown to a reader (a status, a role, a job kind): its ``group.value`` text
    when registered, else the value itself (an identifier such as a webhook event name)."""
    key = f"{group}.{value}"
    return ct(key) if key in _STRINGS["en"] else str(value)


def lt(text) -> str:
    """A questionnaire's localized text in the console's language when the file has it, else its default."""
    return text.get(console_language()) if text is not None else ""
