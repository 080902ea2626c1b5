"""E-mail invitations and reminders as a questionnaire declares them (its ``email:`` section),
with built-in wording in English and Chinese for what a questionnaire leaves out.

A body is plain text: paragraphs separated by blank lines, placeholders in braces. Only the
names in :data:`PLACEHOLDERS` are filled in (by plain replacement, not ``str.format``, so a
template cannot reach attributes of the values); any other ``{name}`` is a validation problem.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

PLACEHOLDERS = {
    "link": "the invitee's personal survey link",
    "opt_out_link": "the link that stops further e-mails about this survey",
    "title": "the questionnaire's title",
    "privacy": "the sender's privacy line (email.privacy)",
    "name": "the invitee's name (the 'name' column of the invitation list), or nothing",
}
KINDS = ("invitation", "reminder")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

DEFAULT_TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "invitation": {
        "subject": {"en": "{title}: a five-minute survey", "zh-CN": "{title}：五分钟问卷"},
        "body": {
            "en": ("Hello {name},\n\nwe would like to hear about your experience with us. The survey takes about "
                   "five minutes, and you can stop and come back to it later:\n\n{link}\n\n"
                   "The link is personal; please do not forward it.\n\n{privacy}\n\n"
                   "To stop receiving e-mails about this survey: {opt_out_link}"),
            "zh-CN": ("{name}您好：\n\n我们想了解您的体验。问卷约需五分钟，您可以随时暂停，稍后继续：\n\n{link}\n\n"
                      "此链接仅供您本人使用，请勿转发。\n\n{privacy}\n\n不想再收到关于本问卷的邮件：{opt_out_link}"),
        },
    },
    "reminder": {
        "subject": {"en": "Reminder: {title}", "zh-CN": "提醒：{title}"},
        "body": {
            "en": ("Hello {name},\n\na few days ago we invited you to a short survey. If you have a moment, your "
                   "answers help us improve; answers you already gave are kept:\n\n{link}\n\n{privacy}\n\n"
                   "To stop receiving e-mails about this survey: {opt_out_link}"),
            "zh-CN": ("{name}您好：\n\n几天前我们邀请您参加一份简短的问卷。如果您有时间，您的回答将帮助我们改进；"
                      "已填写的答案都已保存：\n\n{link}\n\n{privacy}\n\n不想再收到关于本问卷的邮件：{opt_out_link}"),
        },
    },
}
DEFAULT_PRIVACY = {
    "en": "Your answers are used only for research on service quality and reported in aggregate.",
    "zh-CN": "您的回答仅用于服务质量研究，并以汇总形式报告。",
}


@dataclass(frozen=True)
class MessageTemplate:
    """Subject and body of one kind of message, per language (language code -> text)."""

    subject: Mapping[str, str]
    body: Mapping[str, str]


@dataclass(frozen=True)
class EmailTemplates:
    """What a questionnaire says about its e-mails; every part falls back to the built-in wording."""

    sender_name: Mapping[str, str] | None = None
    privacy: Mapping[str, str] | None = None
    messages: Mapping[str, MessageTemplate] | None = None

    def text(self, kind: str, part: str, language: str, default_language: str) -> str:
        """The ``part`` ("subject" or "body") of message ``kind`` in ``language``."""
        declared = (self.messages or {}).get(kind)
        if declared is not None:
            return _pick(getattr(declared, part), language, default_language)
        return _pick(DEFAULT_TEXTS[kind][part], language, "en")

    def privacy_line(self, language: str, default_language: str) -> str:
        return _pick(self.privacy or DEFAULT_PRIVACY, language, default_language if self.privacy else "en")

    def sender(self, language: str, default_language: str) -> str | None:
        return _pick(self.sender_name, language, default_language) if self.sender_name else None


def _pick(texts: Mapping[str, str], language: str, fallback: str) -> str:
    if language in texts:
        return texts[language]
    # zh-TW reads zh-CN better than English; en-GB reads en.
    base = language.split("-")[0]
    for code, text in texts.items():
        if code.split("-")[0] == base:
            return text
    return texts.get(fallback) or next(iter(texts.values()))


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each known ``{name}`` by its value; ``{name}`` with an empty value leaves no
    stray punctuation behind a greeting ("Hello ," becomes "Hello,")."""
    text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    return re.sub(r"[ \t]+([,，:：])", r"\1", text)


def unknown_placeholders(template: str) -> list[str]:
    return [name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS]


def parse_email_section(raw: Mapping | None, text: Callable[[object, tuple], object],
                        problem: Callable[[tuple, str], None]) -> EmailTemplates | None:
    """Build :class:`EmailTemplates` from a questionnaire's ``email:`` mapping (already checked
    against the JSON Schema). ``text(value, path)`` turns a text into a language mapping and
    reports missing translations; ``problem(path, message)`` records a validation problem."""
    if raw is None:
        return None
    messages = {}
    for kind in KINDS:
        if kind not in raw:
            continue
        spec = raw[kind]
        subject = text(spec["subject"], ("email", kind, "subject")).values
        body = text(spec["body"], ("email", kind, "body")).values
        for part, texts in (("subject", subject), ("body", body)):
            for language, value in texts.items():
                for name in unknown_placeholders(value):
                    problem(("email", kind, part), f"unknown placeholder {{{name}}} in {language!r}; "
                            f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        for language, value in body.items():
            if "{link}" not in value:
                problem(("email", kind, "body"), f"the {language!r} body has no {{link}}: the invitee could not answer")
            if "{opt_out_link}" not in value:
                problem(("email", kind, "body"), f"the {language!r} body has no {{opt_out_link}}: every message must "
                        "let the invitee stop further e-mails")
        for language, value in subject.items():
            if "\n" in value.strip() or "\r" in value:
                problem(("email", kind, "subject"), f"the {language!r} subject must be one line")
        messages[kind] = MessageTemplate(subject, body)
    sender = text(raw["sender_name"], ("email", "sender_name")).values if "sender_name" in raw else None
    for language, value in (sender or {}).items():
        if re.search(r"[\r\n<>\"]", value):
            problem(("email", "sender_name"), f"the {language!r} sender name must be one line without < > or \"")
    privacy = text(raw["privacy"], ("email", "privacy")).values if "privacy" in raw else None
    return EmailTemplates(sender_name=sender, privacy=privacy, messages=messages)
