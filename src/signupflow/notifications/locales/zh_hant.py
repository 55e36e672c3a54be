"""zh-Hant strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "{name}，您好：",
    "footer": "此郵件由 SignUpFlow 代表 {organisation} 發送。",
    "shift_line": "{date} {start}–{end}（{timezone}）：{event}，{role}",
    "location": "地點：{location}",
    "schedule_published.subject": "{organisation}：新排班表已發佈",
    "schedule_published.body": "新的排班表已發佈。您的班次：",
    "assignment_changed.subject.assigned": "{organisation}：您已被安排參加 {event}",
    "assignment_changed.subject.updated": "{organisation}：您在 {event} 的班次已變更",
    "assignment_changed.subject.cancelled": "{organisation}：您在 {event} 的班次已取消",
    "assignment_changed.body.assigned": "您已被安排以下班次：",
    "assignment_changed.body.updated": "您的班次已變更，現在為：",
    "assignment_changed.body.cancelled": "此班次已取消，您無需到場：",
    "shift_reminder.subject": "提醒：{date} {start} 的 {event}",
    "shift_reminder.body": "提醒您即將到來的班次：",
    "invitation.subject": "{organisation} 邀請您加入 SignUpFlow",
    "invitation.body": "{organisation} 邀請您加入其志工排班。請在此接受邀請（連結於 {expires} 失效）：",
    "password_reset.subject": "重設您的 SignUpFlow 密碼",
    "password_reset.body": "有人要求重設您帳戶的密碼。如需設定新密碼，請在 {minutes} 分鐘內開啟此連結：",
    "password_reset.ignore": "如果這不是您本人的要求，請忽略此郵件，您的密碼不會改變。",
    "greeting_plain": "您好：",
    "footer_plain": "此郵件由 SignUpFlow 發送。",
    "signup_confirm.subject": "確認您在 SignUpFlow 的註冊",
    "signup_confirm.body": "要完成在 SignUpFlow 上建立 {organisation}，請在 {hours} 小時內開啟以下連結以確認您的電子郵件地址：",
    "signup_confirm.ignore": "如果您沒有註冊，請忽略此郵件，不會建立任何內容。",
    "signup_existing.subject": "您已經有 SignUpFlow 帳戶",
    "signup_existing.body": "有人（可能是您本人）嘗試用此地址註冊 SignUpFlow，但該地址已有帳戶。請在此登入：",
    "signup_existing.reset": "如果您忘記了密碼，請在此設定新密碼：",
    "signup_existing.ignore": "如果這不是您本人，請忽略此郵件，一切都沒有改變。",
}
