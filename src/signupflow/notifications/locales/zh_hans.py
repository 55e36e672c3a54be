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
    "greeting_plain": "您好：",
    "footer_plain": "此邮件由 SignUpFlow 发送。",
    "signup_confirm.subject": "确认您在 SignUpFlow 的注册",
    "signup_confirm.body": "要完成在 SignUpFlow 上创建 {organisation}，请在 {hours} 小时内打开以下链接以确认您的电子邮件地址：",
    "signup_confirm.ignore": "如果您没有注册，请忽略此邮件，不会创建任何内容。",
    "signup_existing.subject": "您已经有 SignUpFlow 账户",
    "signup_existing.body": "有人（可能是您本人）尝试用此地址注册 SignUpFlow，但该地址已有账户。请在此登录：",
    "signup_existing.reset": "如果您忘记了密码，请在此设置新密码：",
    "signup_existing.ignore": "如果这不是您本人，请忽略此邮件，一切都没有改变。",
}
