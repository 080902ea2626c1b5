"""Interface strings in every supported language (questionnaire texts come from the file)."""
from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "start": "Start the survey", "next": "Next", "back": "Back", "finish": "Submit my answers",
        "progress": "Page {page} of {total}", "required": "Required", "optional": "Optional",
        "error_required": "Please answer this question.",
        "error_number": "Please enter a number.", "error_integer": "Please enter a whole number.",
        "error_range": "Please enter a number between {low} and {high}.",
        "error_min": "Please enter a number of at least {low}.", "error_max": "Please enter a number of at most {high}.",
        "error_length": "Please keep this under {max} characters.",
        "error_max_selected": "Please choose at most {max}.",
        "errors_on_page": "Some answers need your attention.",
        "privacy": "Privacy", "language": "Language",
        "thanks_title": "Thank you", "already_done": "You have already completed this survey. Thank you!",
        "closed_title": "This survey is closed", "closed_body": "This survey is not accepting answers at the moment.",
        "not_found_title": "Page not found", "not_found_body": "We could not find this survey or link. Please check the address.",
        "invalid_link_title": "This link is not valid", "invalid_link_body": "The invitation link is incomplete or has been replaced. Please use the link from your invitation.",
        "bad_request_title": "We could not accept this form", "bad_request_body": "The form contained something we did not expect, so nothing was saved. Please go back and try again.",
        "csrf_title": "Your session has expired", "csrf_body": "For your security the form could not be accepted. Please reload the page and submit again; your earlier answers are saved.",
        "too_large_title": "Too much text", "too_large_body": "The form was larger than we accept. Please shorten your answers.",
        "server_error_title": "Something went wrong", "server_error_body": "An error occurred on our side. Your earlier answers are saved; please try again in a moment.",
        "method_title": "Not allowed", "method_body": "This address cannot be used this way.",
        "forbidden_title": "Not permitted", "forbidden_body": "Your account may look at this but not change it.",
        "follow_up_title": "May we contact you?",
        "follow_up_body": "We are sorry your experience was not better. If you wish, leave a way to reach you and someone from our team will call you.",
        "contact_name": "Name (optional)", "contact_phone": "Phone", "contact_email": "Email",
        "contact_consent": "I agree to be contacted about my answers.",
        "contact_submit": "Send", "contact_saved": "Thank you. We will be in touch.",
        "contact_needs_consent": "Please tick the box to agree to be contacted.",
        "contact_needs_channel": "Please give a phone number or an email address.",
        "resume_note": "Welcome back: your earlier answers are saved.",
        "dont_know": "Don't know",
        "nul_title": "We could not accept this request",
        "nul_body": "It contained a NUL character (\\0), which is never part of text, so nothing was saved. Please go back and type your answer again.",
    },
    "zh-CN": {
        "start": "开始答卷", "next": "下一页", "back": "上一页", "finish": "提交问卷",
        "progress": "第 {page} 页，共 {total} 页", "required": "必答", "optional": "选答",
        "error_required": "请回答此题。",
        "error_number": "请输入数字。", "error_integer": "请输入整数。",
        "error_range": "请输入 {low} 到 {high} 之间的数字。",
        "error_min": "请输入不小于 {low} 的数字。", "error_max": "请输入不大于 {high} 的数字。",
        "error_length": "请将内容控制在 {max} 个字以内。",
        "error_max_selected": "最多选择 {max} 项。",
        "errors_on_page": "有些题目需要您再看一下。",
        "privacy": "隐私说明", "language": "语言",
        "thanks_title": "感谢您的参与", "already_done": "您已完成本问卷，感谢您的参与！",
        "closed_title": "本调查已结束", "closed_body": "本调查目前不接受答卷。",
        "not_found_title": "页面不存在", "not_found_body": "找不到该调查或链接，请检查网址。",
        "invalid_link_title": "链接无效", "invalid_link_body": "邀请链接不完整或已失效，请使用邀请中的链接。",
        "bad_request_title": "无法接受此表单", "bad_request_body": "表单包含意外的内容，因此未保存任何数据。请返回重试。",
        "csrf_title": "会话已过期", "csrf_body": "为保护您的安全，表单未被接受。请刷新页面后再次提交；您之前的答案已保存。",
        "too_large_title": "内容过多", "too_large_body": "表单超出了允许的大小，请缩短您的回答。",
        "server_error_title": "出现错误", "server_error_body": "我们这边出现了错误。您之前的答案已保存，请稍后再试。",
        "method_title": "不允许的操作", "method_body": "此网址不能这样使用。",
        "forbidden_title": "无权操作", "forbidden_body": "您的账户只能查看，不能修改。",
        "follow_up_title": "我们可以联系您吗？",
        "follow_up_body": "很抱歉您的体验不够理想。如您愿意，请留下联系方式，我们的工作人员会与您联系。",
        "contact_name": "姓名（选填）", "contact_phone": "电话", "contact_email": "电子邮箱",
        "contact_consent": "我同意就我的回答被联系。",
        "contact_submit": "提交", "contact_saved": "谢谢，我们会尽快与您联系。",
        "contact_needs_consent": "请勾选同意联系。",
        "contact_needs_channel": "请留下电话或电子邮箱。",
        "resume_note": "欢迎回来：您之前的答案已保存。",
        "dont_know": "不知道",
        "nul_title": "无法接受此请求",
        "nul_body": "请求中含有空字符（\\0），它不属于任何正常文本，因此未保存任何数据。请返回重新输入您的回答。",
    },
}
LANGUAGES = tuple(STRINGS)
LANGUAGE_NAMES = {"en": "English", "zh-CN": "中文"}


def translate(language: str, key: str, **values) -> str:
    table = STRINGS.get(language) or STRINGS["en"]
    text = table.get(key) or STRINGS["en"][key]
    return text.format(**values) if values else text
