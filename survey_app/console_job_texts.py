"""A background job's texts on the console in its language: its error, its progress message,
an import's summary and skipped rows.

A job runs in the worker, outside any request, and stores its error and progress in English
(``csi jobs list`` prints them, logs keep them); the console translates them when it shows
them, by the English templates below (``console_errors.Catalogue``), keeping every name,
number and FILE:ROW location. The messages come from survey_app.jobs, the mailer and the
webhooks, analysis (too few responses, a wave to compare with) and models.importing (every
problem of a file of responses). A line no template fits is shown as it is.
"""
from __future__ import annotations

import re

from .console_errors import _STORAGE, Catalogue, _nested, translate_lines
from .console_i18n import console_language

ENCODINGS = {"UTF-8": "UTF-8", "UTF-8 with BOM": "带 BOM 的 UTF-8", "UTF-16": "UTF-16",
             "GB18030 (Chinese Excel CSV)": "GB18030（中文 Excel 的 CSV）"}

# survey_app.jobs, fieldwork and mailer; analysis.stored, report, waves and data.
JOB_ERRORS_ZH: dict[str, str] = {
    "unknown job kind {kind}; kinds: {kinds}": "未知的任务类型 {kind}；可用类型：{kinds}",
    "unknown job kind {kind} (written by a newer version?)": "未知的任务类型 {kind}（可能由更新版本的程序创建）",
    "could not queue the job: {detail}": "无法将任务加入队列：{detail}",
    "the job queue is unavailable ({detail})": "任务队列不可用（{detail}）",
    "export format {format} / layout {layout}: choose {formats} and wide or long":
        "导出格式 {format} / 布局 {layout}：格式请从 {formats} 中选择，布局请选 wide 或 long",
    "the uploaded file {name} is gone; upload it again": "上传的文件 {name} 已不存在，请重新上传",
    "nothing was imported: 1 problem": "未导入任何答卷：发现 1 个问题",
    "nothing was imported: {n} problems": "未导入任何答卷：发现 {n} 个问题",
    "... and {n} more": "……另有 {n} 个问题",
    "webhook delivery {id} failed for good after {n} attempts: {detail}": "Webhook 投递 {id} 尝试 {n} 次后最终失败：{detail}",
    "no SMTP server is configured: set CSI_SMTP_URL, e.g. {example}": "未配置 SMTP 服务器：请设置 CSI_SMTP_URL，例如 {example}",
    "no sender address is configured: set CSI_MAIL_SENDER, e.g. {example}": "未配置发件地址：请设置 CSI_MAIL_SENDER，例如 {example}",
    "CSI_SMTP_URL {url} is not smtp://host[:port] or smtps://host[:port]":
        "CSI_SMTP_URL {url} 不是 smtp://host[:port] 或 smtps://host[:port] 形式",
    "CSI_SMTP_URL has a bad port: {detail}": "CSI_SMTP_URL 的端口无效：{detail}",
    "Port out of range 0-65535": "端口超出范围 0-65535",
    "Port could not be cast to integer value as {value}": "端口 {value} 不是整数",
    "cannot reach the SMTP server {server}: {detail}": "无法连接 SMTP 服务器 {server}：{detail}",
    "the server's secret key changed since these invitations were created, so their links cannot be rebuilt; "
    "restore the former CSI_SECRET_KEY (or instance/secret_key)":
        "创建这些邀请之后服务器密钥已更改，邀请链接无法重建；请恢复原来的 CSI_SECRET_KEY（或 instance/secret_key）",
    "wave {wave} has {n} complete responses; a model with {k} items needs more before it can be estimated":
        "波次 {wave} 只有 {n} 份完整答卷；含 {k} 个题目的模型需要更多答卷才能估计",
    "wave {wave} cannot be estimated: {detail}": "波次 {wave} 无法估计：{detail}",
    "cannot compare with wave {wave}: questionnaire {survey} has waves {waves}": "无法与波次 {wave} 对比：问卷 {survey} 的波次为 {waves}",
    "cannot compare with wave {wave}: it is not among the waves ({waves})": "无法与波次 {wave} 对比：它不在所分析的波次（{waves}）之中",
    "no waves to analyse": "没有可分析的波次",
    "PDF output needs Chromium (Debian: apt-get install chromium); the HTML report needs nothing":
        "生成 PDF 需要 Chromium（Debian：apt-get install chromium）；HTML 报告无需额外软件",
    "Chromium could not print the PDF: {detail}": "Chromium 无法打印 PDF：{detail}",
    "questionnaire {survey} declares no model (add a 'model:' section)": "问卷 {survey} 没有声明模型（请添加 model: 部分）",
    "{n} usable respondents for {k} items; need at least {m} ({dropped} dropped for missing values)":
        "{k} 个题目只有 {n} 名可用受访者，至少需要 {m} 名（{dropped} 名因缺失值被剔除）",
    "{n} usable respondents for {k} items; need at least {m}": "{k} 个题目只有 {n} 名可用受访者，至少需要 {m} 名",
    "item {item} of construct {construct} has the same value ({value}) for every respondent; it carries no "
    "information: drop it from the model":
        "潜变量 {construct} 的题目 {item} 所有受访者的回答都相同（{value}），不含任何信息：请将其从模型中删除",
    "wave {wave}: {detail}": "波次 {wave}：{detail}",
}

# models.importing and the answer types' reading of a cell (models.answers): each problem of a
# file of responses, after its FILE:ROW: column: location.
IMPORT_ZH: dict[str, str] = {
    "cannot import a file without an extension; give a .csv, .xlsx or .sav file": "无法导入没有扩展名的文件；请提供 .csv、.xlsx 或 .sav 文件",
    "cannot import {suffix}; give a .csv, .xlsx or .sav file": "无法导入 {suffix} 文件；请提供 .csv、.xlsx 或 .sav 文件",
    "the file is {size} MB; the limit is {limit} MB (split it, or raise CSI_IMPORT_MAX_BYTES)":
        "文件大小为 {size} MB，上限为 {limit} MB（请拆分文件，或调高 CSI_IMPORT_MAX_BYTES）",
    "the file is empty": "文件为空",
    "the file starts like UTF-16 text but is not valid UTF-16": "文件开头像 UTF-16 文本，但不是有效的 UTF-16",
    "the file contains NUL bytes, so it is not a text CSV (is it a spreadsheet or a database file? save it as "
    "'CSV UTF-8')": "文件包含 NUL 字节，不是文本 CSV（是否为电子表格或数据库文件？请另存为“CSV UTF-8”）",
    "the file starts with a UTF-8 mark but is not valid UTF-8 (byte {byte})": "文件以 UTF-8 标记开头，但不是有效的 UTF-8（第 {byte} 字节）",
    "the file is neither UTF-8 nor GB18030 text (first bad byte at offset {offset}); save it as 'CSV UTF-8'":
        "文件既不是 UTF-8 也不是 GB18030 文本（第一个无效字节位于偏移 {offset}）；请另存为“CSV UTF-8”",
    "the file has {n} columns; at most {max} are read": "文件有 {n} 列；最多读取 {max} 列",
    "the header cell is empty; name the column": "表头单元格为空；请为该列命名",
    "the header repeats: columns {a} and {b} have the same name": "表头重复：第 {a} 列与第 {b} 列同名",
    "the row has {n} cells; the header has {m}": "该行有 {n} 个单元格，而表头有 {m} 列",
    "not a readable CSV: {detail}": "不是可读取的 CSV：{detail}",
    "not a readable Excel .xlsx workbook ({detail})": "不是可读取的 Excel .xlsx 工作簿（{detail}）",
    "the first sheet is empty": "第一个工作表为空",
    "not a readable SPSS .sav file ({detail})": "不是可读取的 SPSS .sav 文件（{detail}）",
    # the mapping file
    "a mapping file is at most 2 MB": "映射文件最大 2 MB",
    "the mapping file is not UTF-8 text": "映射文件不是 UTF-8 文本",
    "a mapping file is a mapping with columns:, respondent_id:, dont_know:, labels:, ignore:":
        "映射文件应为包含 columns:、respondent_id:、dont_know:、labels:、ignore: 的映射",
    "unknown field {field} (allowed: {allowed})": "未知字段 {field}（允许的字段：{allowed}）",
    "expected a mapping of file column: question id": "应为“文件列名: 题目编号”的映射",
    "{target} is not a question of {survey}": "{target} 不是问卷 {survey} 中的题目",
    "expected the name of a column": "应为列名",
    "expected a list of numeric codes, e.g. [98, 99]": "应为数字代码列表，例如 [98, 99]",
    "expected question id: {{label: code}}": "应为“题目编号: {{标签: 代码}}”",
    "expected a mapping of label: code": "应为“标签: 代码”的映射",
    "expected a list of column names": "应为列名列表",
    # the columns
    "the mapping names this column, but the file has no such column": "映射文件指定了此列，但文件中没有这一列",
    "{column} already holds question {question}": "{column} 已对应题目 {question}",
    "{question} comes both as this column and as {prefix}__option columns; keep one":
        "{question} 既有本列，又有 {prefix}__选项 形式的列；请只保留一种",
    "no column names a question of {survey} (its questions: {questions}); rename the columns or give a mapping file (--map)":
        "没有任何列名是问卷 {survey} 的题目编号（其题目：{questions}）；请重命名这些列，或提供映射文件（--map）",
    # the cells
    "{value} is not a rating; expected a number or a label of its scale": "{value} 不是评分；应为数字或该量表的标签",
    "{value} is not a number; expected a number": "{value} 不是数字",
    "label {label} maps to {code}, outside the scale": "标签 {label} 对应的代码 {code} 超出量表范围",
    "{value} is not a whole number (scale {low}..{high})": "{value} 不是整数（量表 {low}..{high}）",
    "{value} is outside the scale {low}..{high}; don't know is {code}": "{value} 超出量表范围 {low}..{high}；“不知道”的代码是 {code}",
    "{value} is outside the scale {low}..{high}": "{value} 超出量表范围 {low}..{high}",
    "{value} is neither an option nor an option's label (options: {options}; separate several with ';')":
        "{value} 既不是选项，也不是选项标签（选项：{options}；多个选项请用 ';' 分隔）",
    "{value} is neither an option nor an option's label (options: {options})": "{value} 既不是选项，也不是选项标签（选项：{options}）",
    "{value} is not a JSON list of options": "{value} 不是 JSON 格式的选项列表",
    "{n} options chosen; at most {m} are allowed": "选了 {n} 个选项；最多允许 {m} 个",
    "the text has {n} characters; the question allows {m}": "文本有 {n} 个字符；该题最多允许 {m} 个",
    "{value} is not a whole number": "{value} 不是整数",
    "{value} is outside {low}..{high}": "{value} 超出范围 {low}..{high}",
    "{value} is not 0 or 1 (chosen or not)": "{value} 不是 0 或 1（是否选中）",
    "the respondent id is empty": "受访者编号为空",
    "respondent id {value} is also on row {row}": "受访者编号 {value} 与第 {row} 行重复",
    "{value} is not a language of the questionnaire ({allowed})": "{value} 不是问卷的语言（{allowed}）",
    "{value} is not complete or partial ({allowed})": "{value} 不是 complete 或 partial（{allowed}）",
    "{value} is not a date and time (e.g. 2026-12-01T15:04:05Z)": "{value} 不是日期时间（例如 2026-12-01T15:04:05Z）",
}

# What a library says of a file it could not read (under "not a readable ...: (...)").
LIBRARIES_ZH: dict[str, str] = {
    "File is not a zip file": "文件不是 zip 格式（.xlsx 工作簿是 zip 压缩包）",
    "Unable to read from file": "无法读取文件内容",
}

# Progress messages (JobContext.progress, the stored status words).
PROGRESS_ZH: dict[str, str] = {
    "started": "已开始", "queued again": "已重新排队", "its worker stopped; queued again": "执行进程已中止，已重新排队",
    "done": "已完成", "failed": "失败",
    "reading the responses": "正在读取答卷", "checking every row": "正在检查每一行",
    "writing the HTML": "正在生成 HTML", "printing the PDF": "正在打印 PDF", "drawing figures": "正在绘制图表",
    "segments": "正在分析细分群体", "open answers": "正在分析开放题回答", "storing": "正在保存分析结果",
    "loading {wave}": "正在读取波次 {wave}",
    "fitting wave {wave}": "正在估计波次 {wave} 的模型", "comparing {wave} with {reference}": "正在对比波次 {wave} 与 {reference}",
    "stored analysis of {wave}": "正在准备波次 {wave} 的已存分析", "{done} of {total} sent": "已发送 {done} / {total}",
}

_IMPORT_SUMMARY = re.compile(
    r"(?P<file>.+): (?P<rows>\d+) rows read(?: \((?P<encoding>[^()]*(?:\([^()]*\))?)\))?, (?P<stored>\d+) responses imported"
    r"(?:, (?P<already>\d+) already imported before \(skipped\))?(?:, (?P<bad>\d+) bad rows skipped)?\Z")


def _import_summary(line: str) -> str | None:
    """``ImportResult.summary``'s first line in Chinese (its parts are optional)."""
    found = _IMPORT_SUMMARY.match(line)
    if found is None:
        return None
    parts = [f"读取 {found['rows']} 行" + (f"（{ENCODINGS.get(found['encoding'], found['encoding'])}）"
                                          if found["encoding"] else ""),
             f"导入 {found['stored']} 份答卷"]
    if found["already"]:
        parts.append(f"{found['already']} 行此前已导入（已跳过）")
    if found["bad"]:
        parts.append(f"跳过 {found['bad']} 个错误行")
    return f"{found['file']}：" + "，".join(parts)


QUOTA_ZH: dict[str, str] = {
    "the wave's cap on completions now over by {over} ({count} of {limit}) (imported responses are stored and "
    "counted even past a limit)": "波次的完成数上限现已超出 {over}（{count} / {limit}）（导入的答卷即使超出上限也会保存并计数）",
    "quota {id} now over by {over} ({count} of {limit}) (imported responses are stored and counted even past a limit)":
        "配额 {id} 现已超出 {over}（{count} / {limit}）（导入的答卷即使超出上限也会保存并计数）",
}

_IMPORT = Catalogue(IMPORT_ZH, {"detail": _nested(_STORAGE, Catalogue(LIBRARIES_ZH))})
_JOBS = Catalogue(JOB_ERRORS_ZH)
_QUOTAS = Catalogue(QUOTA_ZH)
_CATALOGUES = (_JOBS, _STORAGE, _IMPORT, _QUOTAS, _import_summary)
_JOBS.fillers["detail"] = _nested(*_CATALOGUES)
_PROGRESS = Catalogue(PROGRESS_ZH, patterns={"done": r"\d+", "total": r"\d+"})


def translate_job_text(text: str, language: str) -> str:
    """A job's error, an import's summary or a skipped row's problem (one or several lines) in ``language``."""
    return text if language != "zh-CN" or not text else translate_lines(text, *_CATALOGUES)


def translate_progress(message: str, language: str) -> str:
    """A job's progress message in ``language`` (an import's summary too)."""
    if language != "zh-CN" or not message:
        return message
    return _PROGRESS(message) or translate_lines(message, _import_summary, _QUOTAS)


def job_text(text: str | None) -> str:
    """``translate_job_text`` in the console's language (a Jinja global)."""
    return translate_job_text(text or "", console_language())


def job_progress(message: str | None) -> str:
    """``translate_progress`` in the console's language (a Jinja global)."""
    return translate_progress(message or "", console_language())

