"""The console's own texts in English and Simplified Chinese (registered with ``console_i18n``).

Keys are grouped by page; a text with ``{name}`` placeholders is filled by ``ct(key, name=...)``.
Dates and numbers are formatted by the templates, the same in both languages.
"""
from __future__ import annotations

from .console_i18n import register_strings

EN = {
    # header, shared
    "brand": "csi-toolkit admin", "title_suffix": "csi-toolkit",
    "nav_surveys": "Surveys", "nav_jobs": "Jobs", "nav_follow_up": "Follow-up", "nav_webhooks": "Webhooks",
    "nav_users": "Users", "log_out": "Log out {username}", "language_switch": "Language",
    "overdue_alert": "{count} open follow-ups older than {hours} hours.", "overdue_alert_one": "1 open follow-up older than {hours} hours.",
    "call_them": "Call them",
}
ZH = {
    "brand": "csi-toolkit 管理后台", "title_suffix": "csi-toolkit",
    "nav_surveys": "调查", "nav_jobs": "任务", "nav_follow_up": "回访", "nav_webhooks": "Webhook",
    "nav_users": "用户", "log_out": "退出 {username}", "language_switch": "语言",
    "overdue_alert": "{count} 个待回访案例已超过 {hours} 小时。", "overdue_alert_one": "1 个待回访案例已超过 {hours} 小时。",
    "call_them": "去回访",
}

register_strings({"en": EN, "zh-CN": ZH})
