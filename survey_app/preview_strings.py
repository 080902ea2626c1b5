"""The console's texts for questionnaire previews, version changes and upload problems (en, zh-CN).

Each kind of change of ``models.questionnaire_diff`` is registered as ``diff.<kind>`` with the
model's English text as it is, so the console and ``csi questionnaire diff`` say the same,
and a Chinese text with the same placeholders (``register_strings`` refuses a mismatch).
"""
from __future__ import annotations

from models.questionnaire_diff import CHANGE_TEXTS

from .console_i18n import register_pairs

CHANGE_TEXTS_ZH: dict[str, str] = {
    "question_added": "新增题目 {id}（{type}），位于页面 {page}",
    "item_added": "构念 {construct} 新增题目 {id}：以往波次没有这道题的回答",
    "question_removed": "删除题目 {id}（{type}）",
    "item_removed": "从构念 {construct} 中删除题目 {id}",
    "construct_moved": "题目 {id} 从构念 {old} 移到 {new}",
    "construct_joined": "题目 {id} 现在测量构念 {new}（之前不属于任何构念）",
    "construct_left": "题目 {id} 不再测量构念 {old}",
    "type_changed": "题目 {id} 的类型从 {old} 改为 {new}",
    "rescaled": "题目 {id} 的量表改变：{old} 变为 {new}",
    "scale_labels_changed": "题目 {id}：量表标签改变（{points}）",
    "reverse_changed": "题目 {id}：反向计分从 {old} 改为 {new}",
    "dont_know_changed": "题目 {id}：“不知道”代码从 {old} 改为 {new}",
    "text_changed": "题目 {id}：{what} 措辞修改（{languages}）",
    "options_added": "题目 {id}：新增选项 {values}",
    "options_removed": "题目 {id}：删除选项 {values}",
    "options_relabelled": "题目 {id}：选项措辞修改 {values}",
    "condition_changed": "题目 {id}：显示条件 show_if 从 {old} 改为 {new}",
    "required_changed": "题目 {id}：必答从 {old} 改为 {new}",
    "question_moved": "题目 {id} 从页面 {old} 移到页面 {new}",
    "page_added": "新增页面 {id}",
    "page_removed": "删除页面 {id}",
    "page_condition_changed": "页面 {id}：显示条件 show_if 从 {old} 改为 {new}",
    "hidden_added": "新增隐藏字段 {id}",
    "hidden_removed": "删除隐藏字段 {id}",
    "model_changed": "模型从 {old} 改为 {new}",
    "construct_dropped": "不再测量构念 {construct}",
}

PAIRS: dict[str, tuple[str, str]] = {
    # the preview's overview
    "preview_title": ("Preview of {id} v{version}", "预览 {id} v{version}"),
    "preview_link": ("Preview", "预览"),
    "preview_intro": ("Every page as respondents see it. Nothing you answer here is stored: the answers live in this "
                      "page's address only. Set the answers that conditions read, or open page 1 and answer as a "
                      "respondent would, to walk a conditional path.",
                      "按受访者看到的样子显示每一页。在这里作答不会保存任何内容：答案只保存在本页地址中。"
                      "设置条件所依据的答案，或打开第 1 页像受访者一样作答，即可走一遍条件路径。"),
    "preview_language": ("Respondent language:", "受访者语言："),
    "preview_changes_link": ("Changes from v{version}", "与 v{version} 相比的变化"),
    "preview_refused": ("Ignored, not a value a page accepts: {names}", "已忽略（页面不接受这些值）：{names}"),
    "preview_end": ("With these answers the response would be complete here; nothing was stored.",
                    "按这些答案，答卷到此即完成；没有保存任何内容。"),
    "preview_flagged": ("Follow-up rules that would flag this customer: {rules}.", "会将该客户列入回访的规则：{rules}。"),
    "preview_pages_heading": ("Pages ({count})", "页面（{count}）"),
    "preview_th_page": ("Page", "页面"),
    "preview_th_shown": ("Shown with these answers", "按这些答案是否显示"),
    "preview_th_questions": ("Questions shown", "显示的题目"),
    "preview_shown": ("shown", "显示"),
    "preview_hidden": ("hidden", "隐藏"),
    "preview_condition": ("(show_if: {condition})", "（显示条件：{condition}）"),
    "preview_visible_of": ("{visible} of {total}", "{total} 题中的 {visible} 题"),
    "preview_walk": ("Walk the pages from page 1", "从第 1 页开始逐页作答"),
    "preview_answers_heading": ("Answers that conditions read", "条件所依据的答案"),
    "preview_answers_hint": ("Pages and questions with a show_if appear or hide as these answers and hidden values "
                             "say; texts that pipe an answer not given show [its name].",
                             "带 show_if 的页面和题目按这些答案和隐藏字段的值显示或隐藏；引用了未作答题目的文字显示为 [题目名称]。"),
    "preview_no_answer": ("(no answer)", "（未作答）"),
    "preview_apply": ("Apply", "应用"),
    "preview_clear": ("Clear all answers", "清除所有答案"),
    "preview_no_conditions": ("This questionnaire has no conditions and no hidden fields: every respondent sees every page.",
                              "本问卷没有显示条件和隐藏字段：每位受访者都会看到每一页。"),
    # the bar above a previewed page
    "preview_bar_label": ("Preview", "预览"),
    "preview_heading_short": ("Preview of {id} v{version}.", "预览 {id} v{version}。"),
    "preview_nothing_stored": ("Nothing is stored.", "不会保存任何内容。"),
    "preview_page_of": ("Page {number} of {count} in the file ({id}).", "文件中第 {number} 页，共 {count} 页（{id}）。"),
    "preview_page_shown": ("A respondent with these answers sees it as page {position} of {total}.",
                           "按这些答案，受访者看到的是第 {position} 页，共 {total} 页。"),
    "preview_page_not_shown": ("A respondent with these answers does not see this page; all its questions are drawn.",
                               "按这些答案，受访者看不到这一页；这里显示了它的全部题目。"),
    "preview_questions_hidden": ("Hidden by their own condition with these answers:", "按这些答案被自身条件隐藏的题目："),
    "preview_tampered": ("The answers sent are not ones this page offers; nothing was changed.",
                         "提交的答案不是本页提供的选项；未做任何更改。"),
    "preview_all_pages": ("All pages and answers", "所有页面与答案"),
    "preview_file_previous": ("Previous page in the file", "文件中的上一页"),
    "preview_file_next": ("Next page in the file", "文件中的下一页"),
    # changes between versions
    "changes_title": ("Changes in {id} v{version}", "{id} v{version} 的变化"),
    "changes_link": ("changes", "变化"),
    "changes_first_version": ("This is the first stored version: there is nothing to compare it with.",
                              "这是第一个保存的版本，没有可比较的版本。"),
    "changes_from": ("From v{old} to v{new}:", "从 v{old} 到 v{new}："),
    "diff_breaks": ("This change breaks comparison with earlier waves for: {constructs}.",
                    "此次修改使以下构念无法与以往波次比较：{constructs}。"),
    "diff_th_construct": ("Construct", "构念"),
    "diff_th_verdict": ("Comparison with earlier waves", "与以往波次的可比性"),
    "diff_verdict.breaks": ("breaks comparison", "无法比较"),
    "diff_verdict.caution": ("comparable with care", "可比较，但需谨慎"),
    "diff_verdict.comparable": ("comparable", "可比较"),
    "diff_verdict.new": ("new construct (no earlier waves)", "新构念（无以往波次）"),
    "diff_severity.breaks": ("Breaks:", "无法比较："),
    "diff_severity.caution": ("Caution:", "注意："),
    "diff_severity.notice": ("Notice:", "提示："),
    "diff_no_changes": ("No changes to questions, scales, pages or conditions.", "题目、量表、页面和条件均无变化。"),
    "diff_none": ("none", "无"),
    "versions_label": ("Versions:", "版本："),
    # uploading a new version
    "upload_confirm_title": ("Store this new version?", "保存这个新版本吗？"),
    "upload_confirm_intro": ("{name} is a new version of {id} (stored: v{old}, this file: v{new}). It changes:",
                             "{name} 是 {id} 的新版本（已保存：v{old}，此文件：v{new}）。变化如下："),
    "upload_confirm_store": ("Store this version", "保存此版本"),
    "upload_confirm_cancel": ("Cancel", "取消"),
    "upload_stored_breaks": ("It breaks comparison with earlier waves for: {constructs}.",
                             "它使以下构念无法与以往波次比较：{constructs}。"),
    # upload problems
    "problems_hint": ("Correct these in the file and upload it again; `csi validate FILE` reports the same.",
                      "请在文件中改正这些问题后重新上传；`csi validate FILE` 会报告同样的问题。"),
}

register_pairs({**PAIRS, **{f"diff.{kind}": (text, CHANGE_TEXTS_ZH[kind]) for kind, text in CHANGE_TEXTS.items()}})
