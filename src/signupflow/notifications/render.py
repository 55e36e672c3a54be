"""E-mails in the recipient's language: the person's, else the organisation's, else English.
Times are shown in the organisation's time zone."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from signupflow import one_line
from signupflow.notifications.locales import LANGUAGES
from signupflow.notifications.models import NotificationKind

DEFAULT_LANGUAGE = "en"
# The API's locale tags (schemas.SUPPORTED_LOCALES) and common spellings, to a script tag.
ALIASES = {
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-hans": "zh-Hans",
    "zh": "zh-Hans",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
    "zh-hant": "zh-Hant",
}
# Transactional mail (a reset, an invitation) is never "unsubscribed" from.
BULK_KINDS = frozenset(
    {
        NotificationKind.SCHEDULE_PUBLISHED,
        NotificationKind.ASSIGNMENT_CHANGED,
        NotificationKind.SHIFT_REMINDER,
    }
)

SIGNUP_KINDS = frozenset({NotificationKind.SIGNUP_CONFIRM, NotificationKind.SIGNUP_EXISTING})
# Mail someone may get without having asked: it says what ignoring it means.
IGNORABLE_KINDS = frozenset({NotificationKind.PASSWORD_RESET, *SIGNUP_KINDS})


def _supported(tag: str | None) -> str | None:
    if not tag:
        return None
    lowered = tag.strip().replace("_", "-").lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    for language in LANGUAGES:
        if lowered == language.lower():
            return language
    base = lowered.split("-")[0]
    return base if base in LANGUAGES else None


def language_for(person_language: str | None, organisation_locale: str | None) -> str:
    return _supported(person_language) or _supported(organisation_locale) or DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    language: str


@dataclass(frozen=True)
class Context:
    organisation: str
    timezone: str
    public_url: str


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    text: str


def _local(value: str, timezone: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(timezone))


def _shift_fields(shift: dict[str, Any], ctx: Context) -> dict[str, str]:
    starts, ends = _local(shift["starts_at"], ctx.timezone), _local(shift["ends_at"], ctx.timezone)
    return {
        "event": one_line.fold(shift["event_title"]),
        "role": one_line.fold(shift["role"]),
        "date": starts.strftime("%Y-%m-%d"),
        "start": starts.strftime("%H:%M"),
        "end": ends.strftime("%H:%M"),
        "timezone": ctx.timezone,
        "location": one_line.fold(shift.get("location") or ""),
    }


def _shift_lines(strings: dict[str, str], shift: dict[str, Any], ctx: Context) -> list[str]:
    fields = _shift_fields(shift, ctx)
    lines = ["  " + strings["shift_line"].format(**fields)]
    if fields["location"]:
        lines.append("  " + strings["location"].format(**fields))
    return lines


def render(
    kind: NotificationKind, payload: dict[str, Any], recipient: Recipient, ctx: Context
) -> Rendered:
    strings = LANGUAGES[recipient.language]
    base = ctx.public_url.rstrip("/")
    # User-written one-line values are folded: rows stored before the API refused line breaks
    # in them still make a message, with no forged lines in its text.
    fields = {
        "organisation": one_line.fold(ctx.organisation),
        "name": one_line.fold(recipient.name),
    }
    shifts: list[dict[str, Any]] = []
    link: str | None = None
    if kind is NotificationKind.SCHEDULE_PUBLISHED:
        prefix, shifts = "schedule_published", payload["shifts"]
    elif kind is NotificationKind.ASSIGNMENT_CHANGED:
        fields.update(_shift_fields(payload, ctx))
        prefix, shifts = f"assignment_changed.{{}}.{payload['change']}", [payload]
    elif kind is NotificationKind.SHIFT_REMINDER:
        fields.update(_shift_fields(payload, ctx))
        prefix, shifts = "shift_reminder", [payload]
    elif kind is NotificationKind.INVITATION:
        fields["expires"] = _local(payload["expires_at"], ctx.timezone).strftime("%Y-%m-%d %H:%M")
        prefix, link = "invitation", f"{base}/#/accept?token={payload['token']}"
    elif kind is NotificationKind.SIGNUP_CONFIRM:
        fields["hours"] = str(payload["ttl_hours"])
        prefix, link = "signup_confirm", f"{base}/#/signup/confirm?token={payload['token']}"
    elif kind is NotificationKind.SIGNUP_EXISTING:
        prefix, link = "signup_existing", f"{base}/#/login"
    else:
        fields["minutes"] = str(payload["ttl_minutes"])
        prefix, link = "password_reset", f"{base}/#/reset-password?token={payload['token']}"

    def text(part: str) -> str:
        # Templates are formatted once; user-written titles are only ever substituted.
        key = prefix.format(part) if "{}" in prefix else f"{prefix}.{part}"
        return strings[key].format(**fields)

    greeting = strings["greeting"] if recipient.name else strings["greeting_plain"]
    lines = [greeting.format(**fields), "", text("body")]
    for shift in shifts:
        lines += _shift_lines(strings, shift, ctx)
    if link:
        lines.append(f"  {link}")
    if kind is NotificationKind.SIGNUP_EXISTING:
        lines += ["", text("reset"), f"  {base}/#/forgot-password"]
    if kind in IGNORABLE_KINDS:
        lines += ["", text("ignore")]
    # Before confirmation there is no organisation to send on behalf of.
    footer = "footer_plain" if kind in SIGNUP_KINDS else "footer"
    lines += ["", "-- ", strings[footer].format(**fields)]
    return Rendered(recipient.language, text("subject"), "\n".join(lines) + "\n")


def message_id(notification_id: int, dedupe_key: str, mail_from: str) -> str:
    """Stable per notification: a retry after an unknown outcome carries the same id, so
    receiving systems can drop the duplicate."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    tag = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
    return f"<signupflow.{notification_id}.{tag}@{domain}>"


def build_message(
    rendered: Rendered,
    *,
    kind: NotificationKind,
    recipient: Recipient,
    mail_from: str,
    msg_id: str,
    sent_at: datetime,
    public_url: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    # A header never carries a line break, whatever the text: CR or LF would be refused (or,
    # by a laxer library, start a header of the sender's choosing).
    message["To"] = Address(display_name=one_line.fold(recipient.name), addr_spec=recipient.email)
    message["Subject"] = one_line.fold(rendered.subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = msg_id
    message["Auto-Submitted"] = "auto-generated"
    if kind in BULK_KINDS:
        message["List-Unsubscribe"] = f"<{public_url.rstrip('/')}/#/profile/notifications>"
    message.set_content(rendered.text, charset="utf-8")
    # After set_content, which replaces every Content-* header.
    message["Content-Language"] = rendered.language
    return message
