"""en strings for notification e-mails (keys must match en.py)."""

# Translated text: typographic punctuation is intended, and a sentence stays on one line.
# ruff: noqa: RUF001, E501

STRINGS: dict[str, str] = {
    "greeting": "Hello {name},",
    "footer": "This message was sent by SignUpFlow on behalf of {organisation}.",
    "shift_line": "{date} {start}–{end} ({timezone}): {event}, {role}",
    "location": "Location: {location}",
    "schedule_published.subject": "{organisation}: the new schedule is out",
    "schedule_published.body": "A new schedule has been published. Your shifts:",
    "assignment_changed.subject.assigned": "{organisation}: you are scheduled for {event}",
    "assignment_changed.subject.updated": "{organisation}: your shift for {event} changed",
    "assignment_changed.subject.cancelled": "{organisation}: your shift for {event} was cancelled",
    "assignment_changed.body.assigned": "You have been scheduled for this shift:",
    "assignment_changed.body.updated": "Your shift has changed. It is now:",
    "assignment_changed.body.cancelled": "This shift has been cancelled; you are no longer expected:",
    "shift_reminder.subject": "Reminder: {event} on {date} at {start}",
    "shift_reminder.body": "A reminder of your upcoming shift:",
    "invitation.subject": "You are invited to join {organisation} on SignUpFlow",
    "invitation.body": "{organisation} invites you to sign up for their volunteer schedule. Accept the invitation here (the link expires on {expires}):",
    "password_reset.subject": "Reset your SignUpFlow password",
    "password_reset.body": "Someone asked to reset the password of your account. To choose a new password, open this link within {minutes} minutes:",
    "password_reset.ignore": "If you did not ask for this, ignore this message: your password stays the same.",
    "greeting_plain": "Hello,",
    "footer_plain": "This message was sent by SignUpFlow.",
    "signup_confirm.subject": "Confirm your SignUpFlow sign-up",
    "signup_confirm.body": "To finish creating {organisation} on SignUpFlow, confirm your e-mail address by opening this link within {hours} hours:",
    "signup_confirm.ignore": "If you did not sign up, ignore this message: nothing will be created.",
    "signup_existing.subject": "You already have a SignUpFlow account",
    "signup_existing.body": "Someone, probably you, tried to sign up for SignUpFlow with this address, which already has an account. Log in here instead:",
    "signup_existing.reset": "If you have forgotten your password, choose a new one here:",
    "signup_existing.ignore": "If this was not you, ignore this message: nothing has changed.",
}
