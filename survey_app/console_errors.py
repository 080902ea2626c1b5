"""Refusals from the storage layer (``StorageError``), shown in the console's language.

``models`` speaks English to every caller (CLI, API, logs); the console matches a message
against the English templates below and, for a Chinese page, writes the Chinese one with
the same values. A message no template matches is shown as it is (never lost). The test
``test_storage_refusals_in_chinese`` raises each of them for real, so a template that no
longer matches its model message fails there.
"""
from __future__ import annotations

import re
from string import Formatter

from .console_i18n import console_language

# English template (the model's f-string with {names}) -> Simplified Chinese.
ERRORS_ZH: dict[str, str] = {
    # models.storage.accounts
    "username {name}: use 2-64 letters, digits or _.@-": "用户名 {name}：请使用 2–64 个字母、数字或 _.@-",
    "role {role}: choose one of {choices}": "角色 {role}：请从 {choices} 中选择",
    "password too short: at least {n} characters": "密码太短：至少 {n} 个字符",
    "an administrator named {name} already exists": "已存在名为 {name} 的管理员",
    "no administrator named {name}": "没有名为 {name} 的管理员",
    "{name} is already disabled": "{name} 已被停用",
    "{name} is disabled; it cannot get API tokens": "{name} 已被停用，不能获取 API 令牌",
    "token lifetime {days} days: choose 1 to {max}": "令牌有效期 {days} 天：请选择 1 到 {max} 天",
    "give the token a name (what it is for)": "请为令牌命名（说明用途）",
    "token name: no control characters (tabs, line breaks, NUL)": "令牌名称不能包含控制字符（制表符、换行符、NUL）",
    "no API token with id {id}": "没有编号为 {id} 的 API 令牌",
    "API token {id} was already revoked": "API 令牌 {id} 已被撤销",
    # models.storage.follow_up
    "follow-up status {status}: choose one of {choices} (or all)": "回访状态 {status}：请从 {choices}（或 all）中选择",
    "follow-up status {status}: choose one of {choices}": "回访状态 {status}：请从 {choices} 中选择",
    "order {order}: choose one of {choices}": "排序 {order}：请从 {choices} 中选择",
    "segment {segment}: write it as key=value, e.g. tier=gold": "细分 {segment}：请写成 key=value 形式，例如 tier=gold",
    "page must be 1 or more, and 1-1000 rows per page": "页码须不小于 1，每页 1–1000 行",
    "response {id} is not in the follow-up queue": "答卷 {id} 不在回访队列中",
    "outcome {outcome}: choose one of {choices}": "结果 {outcome}：请从 {choices} 中选择",
    "closing follow-up {id} needs its outcome: {choices}": "关闭回访 {id} 需要填写结果：{choices}",
    "a note may have at most {max} characters (this one has {n})": "备注最多 {max} 个字符（当前 {n} 个）",
    "no console user {name} to assign follow-up {id} to": "没有可分配回访 {id} 的后台用户 {name}",
    # models.storage.webhooks
    "webhook URL {url} must be http:// or https:// with a host": "Webhook URL {url} 必须以 http:// 或 https:// 开头并带有主机名",
    "a webhook URL must not carry a user name or password; the receiver checks the signature":
        "Webhook URL 不能包含用户名或密码；接收方通过签名校验请求",
    "a webhook URL must be one line without spaces, at most 2,000 characters": "Webhook URL 必须是一行、不含空格，最多 2,000 个字符",
    "unknown webhook event {event}; choose from {choices}": "未知的 Webhook 事件 {event}；请从 {choices} 中选择",
    "choose at least one event: {choices}": "请至少选择一个事件：{choices}",
    # models.storage.repository and invitations (the e-mail list)
    "wave {name} of {survey} already exists": "{survey} 的波次 {name} 已存在",
    "{source}: not UTF-8 text (byte {byte}); save the list as CSV UTF-8": "{source}：不是 UTF-8 文本（第 {byte} 字节）；请将名单另存为 CSV UTF-8",
    "{source}: contains NUL bytes; is it really a CSV file?": "{source}：包含 NUL 字节；确定是 CSV 文件吗？",
    "{source}:1: the header has no 'email' column (found: {found})": "{source}:1：表头中没有 email 列（现有列：{found}）",
    "{source}:{line}: more cells than header columns": "{source}:{line}：单元格数多于表头列数",
}


def _compile(template: str) -> tuple[re.Pattern, list[str]]:
    parts, names = [], []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
            names.append(name)
    return re.compile("".join(parts) + r"\Z", re.S), names


# The questionnaire validator's most frequent messages (models/questionnaire.py), for the
# console's upload page; the rest stay in English (the CLI's words, which docs and searches know).
PROBLEMS_ZH: dict[str, str] = {
    "missing required field {field}": "缺少必填字段 {field}",
    "unknown fields {fields} (allowed: {allowed})": "未知字段 {fields}（允许的字段：{allowed}）",  # before the singular, which would match it too
    "unknown field {fields} (allowed: {allowed})": "未知字段 {fields}（允许的字段：{allowed}）",
    "{value} is not one of: {choices}": "{value} 不是以下取值之一：{choices}",
    "expected {expected}, got {got}": "应为 {expected}，实际为 {got}",
    "{value} is not a valid name here (must match {pattern})": "{value} 在此处不是有效名称（须符合 {pattern}）",
    "must not be empty": "不能为空",
    "must not be empty text": "不能为空文本",
    "missing translation for {language}": "缺少 {language} 的翻译",
    "unknown scale {scale} (defined scales: {scales})": "未知量表 {scale}（已定义的量表：{scales}）",
    "duplicate question id {id} (also {where})": "题目编号 {id} 重复（另见 {where}）",
    "duplicate option value {value}": "选项值 {value} 重复",
    "max ({max}) must be greater than min ({min})": "max（{max}）必须大于 min（{min}）",
    "field {field} does not apply to a {type} question": "字段 {field} 不适用于 {type} 类型的题目",
    "{what} refers to unknown question {name}": "{what} 引用了不存在的题目 {name}",
    "{what} refers to {name}, which is asked later or in the same place; it can only use earlier answers":
        "{what} 引用了 {name}，该题在同一位置或之后才出现；只能使用之前的答案",
    "pipes unknown question {name}": "引用了不存在的题目 {name}",
}

_COMPILED = [(_compile(english)[0], chinese) for english, chinese in ERRORS_ZH.items()]
_PROBLEMS = [(_compile(english)[0], chinese) for english, chinese in PROBLEMS_ZH.items()]


def _translated(message: str, templates) -> str:
    for pattern, chinese in templates:
        found = pattern.match(message)
        if found:
            return chinese.format(**found.groupdict())
    return message


def translate_error(message: str, language: str) -> str:
    """``message`` (an English storage refusal) in ``language``; unchanged when no template fits."""
    return message if language != "zh-CN" else _translated(message, _COMPILED)


def translate_problem(message: str, language: str) -> str:
    """A questionnaire problem's message (``Problem.message``) in ``language``: a warning keeps
    its meaning ("warning: ..." -> "警告：..."); unchanged when no template fits."""
    if language != "zh-CN":
        return message
    if message.startswith("warning: "):
        return "警告：" + _translated(message[len("warning: "):], _PROBLEMS)
    return _translated(message, _PROBLEMS)


def console_error(error: Exception) -> str:
    """An exception's message for a flash on a console page, in the page's language."""
    return translate_error(str(error), console_language())
