"""Refusals from the storage layer (``StorageError``), shown in the console's language.

``models`` speaks English to every caller (CLI, API, logs); the console matches a message
against the English templates below and, for a Chinese page, writes the Chinese one with
the same values. A message no template matches is shown as it is (never lost). The test
``test_storage_refusals_in_chinese`` raises each of them for real, so a template that no
longer matches its model message fails there. The questionnaire validator's messages are
translated the same way (``translate_problem``), and so are the jobs' errors and progress
(``survey_app.console_job_texts``, which uses the ``Catalogue`` below).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from string import Formatter

from .console_i18n import console_language

# Storage refusals: English template (the model's f-string with {names}) -> Simplified Chinese.
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
    "{source}: larger than 64 MiB; split the list": "{source}：超过 64 MiB；请拆分名单",
    "{source}: no invitees below the header": "{source}：表头下没有受邀人",
    "email: empty; every row needs an e-mail address": "email：为空；每一行都需要电子邮箱地址",
    "email: {address} is not a valid e-mail address": "email：{address} 不是有效的电子邮箱地址",
    "email: {address} is also on row {row}": "email：{address} 与第 {row} 行重复",
    "language: {language} is not one of the questionnaire's languages ({languages})":
        "language：{language} 不是问卷的语言之一（{languages}）",
    "... and {n} more": "……另有 {n} 条",
    # models.storage.repository, dashboard, jobs, webhooks; models.exports
    "no wave {wave} for questionnaire {survey}; its waves: {waves}": "问卷 {survey} 没有波次 {wave}；现有波次：{waves}",
    "no wave {wave} for questionnaire {survey}; it has no waves": "问卷 {survey} 没有波次 {wave}；该问卷还没有任何波次",
    "no questionnaire {survey} (stored: {known})": "没有问卷 {survey}（已存储：{known}）",
    "questionnaire {survey} has no language {language}; its languages: {languages}":
        "问卷 {survey} 没有语言 {language}；可用语言：{languages}",
    "no job {id}": "没有编号为 {id} 的任务",
    "job {id} is {status}; only a failed job can be retried": "任务 {id} 的状态为 {status}；只有失败的任务可以重试",
    "no webhook {id}": "没有编号为 {id} 的 Webhook",
    "a webhook secret must have at least 16 characters (or leave it out for a random one)":
        "Webhook 密钥至少需要 16 个字符（或留空以随机生成）",
    # Python's csv module, under a FILE:LINE of an invitation list (the console's or the e-mail list)
    "field larger than field limit ({limit})": "单元格内容超过长度上限（{limit} 个字符）",
    "new-line character seen in unquoted field - {hint}": "未加引号的单元格中出现换行符；含换行的单元格请加引号",
}


def _compile(template: str, patterns: Mapping[str, str] | None = None) -> tuple[re.Pattern, list[str]]:
    """The regular expression of an English template: its literal text, each ``{name}`` any text
    (or ``patterns[name]``, for a placeholder that would otherwise swallow a whole sentence). A
    template's leading placeholder never takes a ": " in: "FILE:ROW: column: 3 options chosen"
    is the message "3 options chosen" at a location, not a count of "FILE:ROW: column: 3"."""
    parts, names = [], []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            leading = not names and not "".join(parts)
            parts.append(f"(?P<{name}>{(patterns or {}).get(name, '(?:(?!: ).)+?' if leading else '.+?')})")
            names.append(name)
    return re.compile("".join(parts) + r"\Z", re.S), names


class Catalogue:
    """English templates and their Chinese, tried in order (more specific first).

    ``fillers[name]`` turns a placeholder's English value into Chinese before it is written
    (a type name, a reason chosen from a few; or, for a nested message such as an expression's
    error under "show_if: ...", a translation of its own); other values (ids, names, numbers,
    file names) are kept as they are, so the Chinese message stays as specific as the English."""

    def __init__(self, pairs: Mapping[str, str], fillers: Mapping[str, Callable[[str], str]] | None = None,
                 patterns: Mapping[str, str] | None = None):
        self.pairs = dict(pairs)
        self.fillers = dict(fillers or {})
        self.entries = [(_compile(english, patterns)[0], chinese) for english, chinese in self.pairs.items()]

    def __call__(self, message: str) -> str | None:
        """``message`` in Chinese, or None when no template fits it."""
        for pattern, chinese in self.entries:
            found = pattern.match(message)
            if found:
                values = {name: self.fillers[name](value) if name in self.fillers else value
                          for name, value in found.groupdict().items()}
                return chinese.format(**values)
        return None


def translate_lines(message: str, *catalogues: Callable[[str], str | None]) -> str:
    """Each line of ``message`` in Chinese: the whole line, else what follows a location such as
    ``FILE:LINE: column: `` (kept as it is, the way `csi` prints it); a line nothing fits stays
    as it is (never lost)."""
    def one(text: str) -> str | None:
        for catalogue in catalogues:
            chinese = catalogue(text)
            if chinese is not None:
                return chinese
        return None

    out = []
    for line in message.split("\n"):
        chinese = one(line)
        start = 0
        while chinese is None and (cut := line.find(": ", start)) != -1:
            rest = one(line[cut + 2:])
            chinese = None if rest is None else line[:cut + 2] + rest
            start = cut + 1
        out.append(line if chinese is None else chinese)
    return "\n".join(out)


def _nested(*catalogues) -> Callable[[str], str]:
    """A filler for a message inside a message (translated line by line; kept when unknown)."""
    return lambda value: translate_lines(value, *catalogues)


def _words(table: Mapping[str, str], joiner: str | None = None, chinese_joiner: str = "") -> Callable[[str], str]:
    """A filler for a value chosen from a few English words (``joiner``: several of them joined)."""
    def fill(value: str) -> str:
        if joiner is None:
            return table.get(value, value)
        return chinese_joiner.join(table.get(part, part) for part in value.split(joiner))
    return fill


# The questionnaire validator's messages (models/questionnaire.py and the modules it reads a file
# with: yaml_source, expressions, csi_model, quotas, email_templates), for the console's upload
# page. Every template matches a message the validator really writes
# (tests/survey_app/test_problem_texts.py makes each one).
TYPE_WORDS = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "布尔值（true/false）",
              "mapping": "映射（键: 值）", "list": "列表", "null": "空值"}
GOT_WORDS = {"nothing": "空值", "a mapping": "映射", "a list": "列表"}
PYTHON_TYPES = {"str": "文本", "int": "整数", "float": "数字", "date": "日期", "datetime": "日期时间",
                "bool": "布尔值", "bytes": "二进制数据"}


def _got(value: str) -> str:
    if value in GOT_WORDS:
        return GOT_WORDS[value]
    kind, _, shown = value.partition(" ")
    if kind == "boolean":
        return f"布尔值 {shown}"
    return f"{PYTHON_TYPES[kind]} {shown}" if kind in PYTHON_TYPES and shown else value


SEGMENT_REASONS = {"free-text answers are not groups": "开放文本回答无法分组",
                   "a matrix is several items; its rows are analysed as items": "矩阵题包含多个题目，其各行按题目分析",
                   "a respondent may choose several options, so the groups would overlap": "受访者可多选，各组会相互重叠"}
TEMPLATE_TITLES = {"ECSI (product and service quality)": "ECSI（产品质量与服务质量）"}
EXPRESSION_PLACES = {"show_if": "show_if", "follow-up rule": "回访规则", "quota": "配额"}
YAML_CONTEXTS = {"while parsing a flow sequence": "解析方括号列表时", "while parsing a flow mapping": "解析花括号映射时",
                 "while parsing a block mapping": "解析映射时", "while parsing a block collection": "解析列表时",
                 "while scanning a simple key": "扫描键时", "while scanning a quoted scalar": "扫描带引号的文本时",
                 "while parsing a block node": "解析节点时", "while scanning an alias": "扫描别名时",
                 "while scanning an anchor": "扫描锚点时", "while parsing a flow node": "解析节点时",
                 "while scanning a block scalar": "扫描多行文本时", "while scanning a plain scalar": "扫描文本时",
                 "while scanning for the next token": "查找下一个记号时"}

PROBLEMS_ZH: dict[str, str] = {
    # the JSON Schema's checks (models.questionnaire._schema_message, then jsonschema's own words)
    "missing required field {field}": "缺少必填字段 {field}",
    "unknown fields {fields} (allowed: {allowed})": "未知字段 {fields}（允许的字段：{allowed}）",  # before the singular, which would match it too
    "unknown field {fields} (allowed: {allowed})": "未知字段 {fields}（允许的字段：{allowed}）",
    "give exactly one of 'template' (acsi, ecsi, ecsi_hoc, ccsi, scsb) or 'text' (a custom model)":
        "'template'（acsi、ecsi、ecsi_hoc、ccsi、scsb）与 'text'（自定义模型）须且只能给出其中一项",
    "give exactly one of {alternatives}": "{alternatives} 须且只能给出其中一项",
    "{value} is not one of: {choices}": "{value} 不是以下取值之一：{choices}",
    "expected {expected}, got {got}": "应为{expected}，实际为{got}",
    "{value} is not a valid name here (must match {pattern})": "{value} 在此处不是有效名称（须符合 {pattern}）",
    "needs at least {n} entries": "至少需要 {n} 项",
    "must not be empty": "不能为空",
    "must not be empty text": "不能为空文本",
    "{value} is less than the minimum of {minimum}": "{value} 小于最小值 {minimum}",
    "{value} is greater than the maximum of {maximum}": "{value} 大于最大值 {maximum}",
    "{value} has non-unique elements": "{value} 中有重复的元素",
    "{value} is too long": "{value} 超出长度或数量上限",
    # reading the file (models.questionnaire.load_questionnaire, models.yaml_source)
    "file is {size} bytes; the limit is {limit}": "文件大小为 {size} 字节，上限为 {limit} 字节",
    "file is not valid UTF-8": "文件不是有效的 UTF-8 文本",
    "the file is empty": "文件为空",
    "the top level must be a mapping of fields (id, title, scales, pages, ...)":
        "文件顶层必须是由字段组成的映射（id、title、scales、pages 等）",
    "YAML syntax error: {yaml}": "YAML 语法错误：{yaml}",
    "number {value}... has more than {n} characters": "数字 {value}... 超过 {n} 个字符",
    "bad value: {detail}": "无效的值：{detail}",
    "{value} is not a finite number (.nan and .inf are not allowed)": "{value} 不是有限数（不允许 .nan 和 .inf）",
    "number {value} is out of range (|x| <= {limit})": "数字 {value} 超出范围（|x| <= {limit}）",
    "text contains a NUL character": "文本包含 NUL 字符",
    "text contains an unpaired surrogate ({code})": "文本包含不成对的代理字符（{code}）",
    "the document expands to more than {n} values": "文档展开后超过 {n} 个值",
    "nested more than {n} levels deep": "嵌套超过 {n} 层",
    "a key must be a plain value": "键必须是普通的值（不能是列表或映射）",
    "duplicate key {key} (first on line {line})": "键 {key} 重复（首次出现在第 {line} 行）",
    # texts and languages
    "missing translation for {language}": "缺少 {language} 的翻译",
    "language {language} is not listed in languages ({languages})": "语言 {language} 未列在 languages 中（{languages}）",
    "default language {language} is not in languages ({languages})": "默认语言 {language} 不在 languages 中（{languages}）",
    # conditions, follow-up rules and quotas (expressions)
    "{what} refers to undeclared hidden field {name} (declared: {declared})":
        "{what} 引用了未声明的隐藏字段 {name}（已声明：{declared}）",
    "{what} refers to {name}, which is asked later or in the same place; it can only use earlier answers":
        "{what} 引用了 {name}，该题在同一位置或之后才出现；只能使用之前的答案",
    "{what} refers to unknown question {name}": "{what} 引用了不存在的题目 {name}",
    "{what}: {expression}": "{what}：{expression}",
    # ids, pages, blocks, hidden fields
    "duplicate page id {id} (also {where})": "页面编号 {id} 重复（另见 {where}）",
    "duplicate question id {id} (also {where})": "题目编号 {id} 重复（另见 {where}）",
    "duplicate hidden field id {id}": "隐藏字段编号 {id} 重复",
    "{id} is a parameter of the survey link itself; choose another id": "{id} 是调查链接本身的参数；请换一个编号",
    "not a valid regular expression: {regex}": "不是有效的正则表达式：{regex}",
    "duplicate block id {id}": "页面组编号 {id} 重复",
    "unknown page {id} (pages: {pages})": "未知页面 {id}（现有页面：{pages}）",
    "page {id} is listed twice": "页面 {id} 被列出了两次",
    "page {id} is already in block {block}; blocks cannot overlap": "页面 {id} 已属于页面组 {block}；页面组不能重叠",
    "the pages of a block must follow one another, but page {id} comes between them and is not in the block":
        "页面组中的页面必须前后相连，但页面 {id} 位于其间却不属于该组",
    "reads {name}, asked on page {page} of the same block {block}, whose pages come in an order of each "
    "response's own; move one of the two pages out of the block":
        "读取了 {name}，该题位于同一页面组 {block} 的页面 {page}，而组内页面的顺序因答卷而异；请将这两页之一移出该页面组",
    "pipes undeclared hidden field {name}": "插入了未声明的隐藏字段 {name}",
    "pipes {name}, which is asked on the same or a later page; only earlier answers can be piped":
        "插入了 {name}，该题在同一页或之后才出现；只能插入之前的答案",
    "pipes unknown question {name}": "插入了不存在的题目 {name}",
    # scales, questions, options
    "max ({max}) must be greater than min ({min})": "max（{max}）必须大于 min（{min}）",
    "a rating scale may have at most 101 points (got {low}..{high})": "评分量表最多 101 个刻度（当前为 {low}..{high}）",
    "label for {point}, which is outside the scale {low}..{high}": "刻度 {point} 的标签超出了量表范围 {low}..{high}",
    "don't-know code {code} is inside the scale {low}..{high}; use a value outside it (e.g. 99)":
        "“不知道”代码 {code} 落在量表 {low}..{high} 之内；请使用量表以外的值（如 99）",
    "an nps scale runs 0..10, not {low}..{high}": "NPS 量表的范围是 0..10，而不是 {low}..{high}",
    "field {field} does not apply to a {type} question": "字段 {field} 不适用于 {type} 类型的题目",
    "unknown scale {scale} (defined scales: {scales})": "未知量表 {scale}（已定义的量表：{scales}）",
    "duplicate option value {value}": "选项值 {value} 重复",
    "max ({max}) is less than min ({min})": "max（{max}）小于 min（{min}）",
    "a {type} question cannot be a segment ({why}); declare segment: true on a {types} question":
        "{type} 类型的题目不能作为细分变量（{why}）；请在 {types} 类型的题目上声明 segment: true",
    "{id} measures cost ({construct}) on scale {scale}, whose anchors rate quality ({low} ... {high}), so a high "
    "answer has no direction for delivered value (value - cost); give cost items a scale such as 1 = very low cost "
    "... 10 = very high cost":
        "{id} 测量成本（{construct}），但量表 {scale} 的两端描述的是质量（{low} … {high}），高分对顾客让渡价值"
        "（价值 − 成本）没有明确方向；请为成本题使用“1 = 成本非常低 … 10 = 成本非常高”这样的量表",
    # the model
    "model item {item} of {construct} is not a rating question": "模型题目 {item}（属于 {construct}）不是评分题",
    "the {template} model measures {name} by {dims}: tag its questions with those constructs instead":
        "{template} 模型通过 {dims} 测量 {name}：请改用这些潜变量标记其题目",
    "the {template} model needs construct {name}, but no rating question is tagged with it":
        "{template} 模型需要潜变量 {name}，但没有任何评分题标记为该潜变量",
    "formative construct {name} is not in the model": "形成性潜变量 {name} 不在模型中",
    "construct {name} has {count} items; the model needs at least {min} (or list it under model.single_item)":
        "潜变量 {name} 只有 {count} 个题目；模型至少需要 {min} 个（或将其列入 model.single_item）",
    "construct {name} has {count} item; the model needs at least {min} (or list it under model.single_item)":
        "潜变量 {name} 只有 {count} 个题目；模型至少需要 {min} 个（或将其列入 model.single_item）",
    "model.text:{line}: {model}": "model.text 第 {line} 行：{model}",
    "model.text: {model}": "model.text：{model}",
    # e-mail templates and quotas
    "unknown placeholder {name} in {language}; known: {known}": "{language} 中有未知的占位符 {name}；可用的占位符：{known}",
    "the {language} body has no {{link}}: the invitee could not answer": "{language} 正文中没有 {{link}}：受邀人将无法作答",
    "the {language} body has no {{opt_out_link}}: every message must let the invitee stop further e-mails":
        "{language} 正文中没有 {{opt_out_link}}：每封邮件都必须让受邀人能够退订后续邮件",
    "the {language} subject must be one line": "{language} 邮件主题必须为单行",
    "the {language} sender name must be one line without < > or \"": "{language} 发件人名称必须为单行，且不含 < > 或 \"",
    "duplicate quota id {id} (also {where})": "配额编号 {id} 重复（另见 {where}）",
    "limit must be a whole number from 0 to {max}, not {value}": "limit 必须是 0 到 {max} 之间的整数，而不是 {value}",
}

# An expression's error (models.expressions.ExpressionError), under "show_if: ...".
EXPRESSIONS_ZH: dict[str, str] = {
    "{expression} (at character {n})": "{expression}（第 {n} 个字符处）",
    "unexpected character {char}": "意外的字符 {char}",
    "number {value}... is too long": "数字 {value}... 太长",
    "expected a value, a question id or '(' but found {found}": "此处应为值、题目编号或 '('，实际为 {found}",
    "expected {wanted} but found {found}": "此处应为 {wanted}，实际为 {found}",
    "expression nested deeper than {n} levels": "表达式嵌套超过 {n} 层",
    "expected a number or a quoted string in a list, found {found}": "列表中应为数字或带引号的文本，实际为 {found}",
    "list longer than {n} items": "列表超过 {n} 项",
    "function calls are not allowed ({name})": "不允许调用函数（{name}）",
    "number {value} is out of range (|x| <= {limit})": "数字 {value} 超出范围（|x| <= {limit}）",
    "expression longer than {n} characters": "表达式超过 {n} 个字符",
    "expression is empty": "表达式为空",
    "unexpected {token}": "意外的 {token}",
}

# A custom model's text (models.csi_model: ModelSyntaxError, ModelSpecError), under "model.text: ...".
MODEL_ZH: dict[str, str] = {
    "no operator in {statement}: expected one of =~ (reflective), <~ (formative), ~ (path), ~~ (covariance)":
        "{statement} 中没有运算符：应为 =~（反映型）、<~（形成型）、~（路径）、~~（协方差）之一",
    "nothing before {op}": "{op} 之前没有内容",
    "nothing after {op}": "{op} 之后没有内容",
    "{name} is not a valid name on the left of {op}": "{name} 不是 {op} 左侧的有效名称",
    "a second operator {op} in one statement": "一条语句中出现了第二个运算符 {op}",
    "empty term between '+' signs in {terms}": "{terms} 中两个 '+' 之间没有内容",
    "unexpected token {token}: separate terms with '+'": "意外的记号 {token}：各项之间请用 '+' 分隔",
    "{name} is not a valid name": "{name} 不是有效名称",
    "{name} is listed twice": "{name} 列出了两次",
    "no construct defined (use 'Construct =~ item1 + item2')": "没有定义潜变量（请使用 'Construct =~ item1 + item2'）",
    "{name} in a structural path is not a construct defined with =~ or <~": "结构路径中的 {name} 不是用 =~ 或 <~ 定义的潜变量",
    "item {item} is in two blocks: {a} and {b}": "题目 {item} 同时属于两个潜变量：{a} 和 {b}",
    "path {source} -> {target} points to itself": "路径 {source} -> {target} 指向自身",
    "the structural model has a cycle ({cycle}); PLS path modeling needs a recursive model":
        "结构模型中存在循环（{cycle}）；PLS 路径建模要求递归模型",
}

_EXPRESSIONS = Catalogue(EXPRESSIONS_ZH, {"found": _words({"'end of expression'": "表达式结尾"})})
_EXPRESSIONS.fillers["expression"] = _nested(_EXPRESSIONS)
_MODEL = Catalogue(MODEL_ZH)
YAML_ZH: dict[str, str] = {
    "{problem} ({context})": "{problem}（{context}）",
    "mapping values are not allowed here": "此处不能出现映射的值（是否少了缩进，或文本中的冒号未加引号？）",
    "expected {wanted}, but found {found}": "此处应为 {wanted}，实际为 {found}",
    "expected {wanted}, but got {found}": "此处应为 {wanted}，实际为 {found}",
    "found character {char} that cannot start any token": "字符 {char} 不能出现在此处（制表符请换成空格）",
    "could not find expected {char}": "找不到应有的 {char}",
    "found undefined alias {alias}": "未定义的别名 {alias}",
    "found unexpected end of stream": "文件意外结束（引号或括号未闭合？）",
}
_YAML = Catalogue(YAML_ZH, {"context": _words(YAML_CONTEXTS), "wanted": _words({}, " or ", " 或 ")})
_YAML.fillers["problem"] = _nested(_YAML)
# A value YAML could not read (under "bad value: ..."): Python's words for it.
VALUES_ZH: dict[str, str] = {
    "invalid literal for int() with base {base}: {value}": "{value} 不能读作整数",
    "could not convert string to float: {value}": "{value} 不能读作数字",
    "month must be in 1..12": "月份须在 1..12 之间（写成日期的文本请加引号）",
    "day is out of range for month": "日期超出当月天数（写成日期的文本请加引号）",
}
REGEX_ZH: dict[str, str] = {
    "missing ), unterminated subpattern at position {n}": "缺少 )，子模式未结束（位置 {n}）",
    "unbalanced parenthesis at position {n}": "括号不配对（位置 {n}）",
    "unterminated character set at position {n}": "字符集 [...] 未结束（位置 {n}）",
    "nothing to repeat at position {n}": "没有可重复的内容（位置 {n}）",
    "bad escape {escape} at position {n}": "无效的转义 {escape}（位置 {n}）",
}
_PROBLEMS = Catalogue(PROBLEMS_ZH, {
    "expected": _words(TYPE_WORDS, " or ", "或"), "got": _got, "what": _words(EXPRESSION_PLACES),
    "why": _words(SEGMENT_REASONS), "template": _words(TEMPLATE_TITLES), "alternatives": _words({}, " or ", " 与 "), "dims": _words({}, " and ", " 和 "),
    "declared": _words({"none": "无"}), "expression": _nested(_EXPRESSIONS), "model": _nested(_MODEL),
    "yaml": _nested(_YAML), "regex": _nested(Catalogue(REGEX_ZH)), "detail": _nested(Catalogue(VALUES_ZH))},
    patterns={"what": "|".join(map(re.escape, EXPRESSION_PLACES)), "line": r"\d+"})
_STORAGE = Catalogue(ERRORS_ZH)


def translate_error(message: str, language: str) -> str:
    """``message`` (an English storage refusal, one or several lines) in ``language``; a line no
    template fits is kept as it is."""
    return message if language != "zh-CN" else translate_lines(message, _STORAGE)


def translate_problem(message: str, language: str) -> str:
    """A questionnaire problem's message (``Problem.message``) in ``language``: a warning keeps
    its meaning ("warning: ..." -> "警告：..."); unchanged when no template fits."""
    if language != "zh-CN":
        return message
    if message.startswith("warning: "):
        return "警告：" + (_PROBLEMS(message[len("warning: "):]) or message[len("warning: "):])
    return _PROBLEMS(message) or message


def console_error(error: Exception) -> str:
    """An exception's message for a flash on a console page, in the page's language."""
    return translate_error(str(error), console_language())
