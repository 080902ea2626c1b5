"""The console's words for an invitation list's bad rows and for what an upload issued (both
invitation forms: the wave page's links and the e-mail list), in the console's language.

``models.storage.invitations.import_invitations`` reports each bad row as a ``RowProblem``
(line, field, code); the CLI prints its English text, the console this table's.
"""
from __future__ import annotations

from models.storage.invitations import MAX_PROBLEMS_SHOWN, ROW_PROBLEMS, InvitationListError

from .console_i18n import ct, register_pairs

# key: (English, Simplified Chinese)
PAIRS = {
    "invlist.row": ("{source}, line {line}, {field}: {problem}", "{source}，第 {line} 行，{field}：{problem}"),
    "invlist.more": ("... and {n} more problems.", "……另有 {n} 个问题。"),
    "invlist.email_empty": ("empty; every row needs an e-mail address", "为空；每一行都需要电子邮箱地址"),
    "invlist.email_invalid": ("{value} is not a valid e-mail address", "{value} 不是有效的电子邮箱地址"),
    "invlist.email_repeated": ("{value} is also on line {other}", "{value} 也出现在第 {other} 行"),
    "invlist.language_unknown": ("{value} is not one of the questionnaire's languages ({choices})",
                                 "{value} 不是问卷的语言之一（{choices}）"),
    "invlist.nothing_stored": ("Nothing was stored; correct these rows and upload the file again.",
                               "未保存任何内容；请改正这些行后重新上传文件。"),
    "invlinks.none_new": ("No new invitations: all {already} people in the file were already invited to this wave "
                          "(their links were issued before and are not issued again).",
                          "没有新的邀请：文件中的 {already} 人都已被邀请参加本波次（其链接此前已生成，不会重复生成）。"),
    "invlinks.some_skipped": ("{created} invitations issued (in the download); {already} people already invited to "
                              "this wave were skipped.",
                              "已生成 {created} 个邀请（见下载文件）；已跳过 {already} 位此前已被邀请参加本波次的人。"),
}
assert {key.split(".", 1)[1] for key in PAIRS if key.startswith("invlist.") and key.split(".", 1)[1] in ROW_PROBLEMS} \
    == set(ROW_PROBLEMS), "every row problem needs its console text"

register_pairs(PAIRS)


def invitation_problems(error: InvitationListError) -> list[str]:
    """One message per bad row (file, line, column, what is wrong), then what happened."""
    messages = [ct("invlist.row", source=error.source, line=problem.line, field=problem.field,
                   problem=ct(f"invlist.{problem.code}", **problem.values))
                for problem in error.problems[:MAX_PROBLEMS_SHOWN]]
    if len(error.problems) > MAX_PROBLEMS_SHOWN:
        messages.append(ct("invlist.more", n=len(error.problems) - MAX_PROBLEMS_SHOWN))
    return messages + [ct("invlist.nothing_stored")]
