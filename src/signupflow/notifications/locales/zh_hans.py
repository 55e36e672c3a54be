"""zh-Hans strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "{name}，您好：",
    "footer": "此邮件由 SignUpFlow 代表 {organisation} 发送。",
    "shift_line": "{date} {start}–{end}（{timezone}）：{event}，{role}",
    "location": "地点：{location}",
    "schedule_published.subject": "{organisation}：新排班表已发布",
    "schedule_published.body": "新的排班表已发布。您的班次：",
    "assignment_changed.subject.assigned": "{organisation}：您已被安排参加 {event}",
    "assignment_changed.subject.updated": "{organisation}：您在 {event} 的班次已更改",
    "assignment_changed.subject.cancelled": "{organisation}：您在 {event} 的班次已取消",
    "assignment_changed.body.assigned": "您已被安排以下班次：",
    "assignment_changed.body.updated": "您的班次已更改，现在为：",
    "assignment_changed.body.cancelled": "此班次已取消，您无需到场：",
    "shift_reminder.subject": "提醒：{date} {start} 的 {event}",
    "shift_reminder.body": "提醒您即将到来的班次：",
    "invitation.subject": "{organisation} 邀请您加入 SignUpFlow",
    "invitation.body": "{organisation} 邀请您加入其志愿者排班。请在此接受邀请（链接于 {expires} 过期）：",
    "password_reset.subject": "重置您的 SignUpFlow 密码",
    "password_reset.body": "有人请求重置您账户的密码。如需设置新密码，请在 {minutes} 分钟内打开此链接：",
    "password_reset.ignore": "如果这不是您本人的请求，请忽略此邮件，您的密码不会改变。",
}
