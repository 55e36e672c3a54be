"""Every e-mail string exists in every language, with the same placeholders, and renders."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from signupflow.notifications.locales import LANGUAGES
from signupflow.notifications.models import NotificationKind
from signupflow.notifications.render import SIGNUP_KINDS, Context, Recipient, language_for, render
from signupflow.schemas import SUPPORTED_LOCALES

ENGLISH = LANGUAGES["en"]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_six_languages_are_there() -> None:
    assert set(LANGUAGES) == {"en", "es", "fr", "pt", "zh-Hans", "zh-Hant"}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_key_is_missing_or_extra(language: str) -> None:
    strings = LANGUAGES[language]
    assert sorted(ENGLISH.keys() - strings.keys()) == [], f"missing in {language}"
    assert sorted(strings.keys() - ENGLISH.keys()) == [], f"unknown keys in {language}"
    for key, template in strings.items():
        assert template.strip(), f"{language}:{key} is empty"
        assert placeholders(template) == placeholders(ENGLISH[key]), f"{language}:{key}"


@pytest.mark.parametrize(
    ("person", "organisation", "expected"),
    [
        ("fr", "es", "fr"),
        ("zh-CN", "en", "zh-Hans"),
        ("zh-TW", "en", "zh-Hant"),
        ("de", "pt", "pt"),
        (None, "es-MX", "es"),
        ("xx", "yy", "en"),
    ],
)
def test_the_language_falls_back_to_the_organisations_then_english(
    person: str | None, organisation: str, expected: str
) -> None:
    assert language_for(person, organisation) == expected


def test_every_api_locale_has_e_mails() -> None:
    assert {language_for(locale, None) for locale in SUPPORTED_LOCALES} == set(LANGUAGES)


SHIFT = {
    "event_id": 1,
    "event_title": "Mass {with braces}",
    "location": "",
    "starts_at": datetime(2031, 10, 19, 8, tzinfo=UTC).isoformat(),
    "ends_at": datetime(2031, 10, 19, 9, tzinfo=UTC).isoformat(),
    "role": "usher",
}
PAYLOADS = {
    NotificationKind.SCHEDULE_PUBLISHED: {"shifts": [SHIFT]},
    NotificationKind.ASSIGNMENT_CHANGED: {**SHIFT, "change": "updated"},
    NotificationKind.SHIFT_REMINDER: SHIFT,
    NotificationKind.INVITATION: {"token": "abc", "expires_at": SHIFT["starts_at"]},
    NotificationKind.PASSWORD_RESET: {"token": "abc", "ttl_minutes": 60},
    NotificationKind.SIGNUP_CONFIRM: {"token": "abc", "ttl_hours": 24},
    NotificationKind.SIGNUP_EXISTING: {},
}
LINKED = {
    NotificationKind.INVITATION,
    NotificationKind.PASSWORD_RESET,
    NotificationKind.SIGNUP_CONFIRM,
    NotificationKind.SIGNUP_EXISTING,
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_renders_in_every_language(kind: NotificationKind, language: str) -> None:
    rendered = render(
        kind,
        PAYLOADS[kind],
        Recipient("Zoë", "z@example.org", language),
        Context("Parish", "Europe/Madrid", "https://app.example.org/"),
    )
    assert rendered.subject
    assert "{" not in rendered.subject.replace("{with braces}", "")
    assert "Zoë" in rendered.text
    footer = "footer_plain" if kind in SIGNUP_KINDS else "footer"
    assert LANGUAGES[language][footer].format(organisation="Parish") in rendered.text
    if kind in LINKED:
        assert "https://app.example.org/#/" in rendered.text
    else:
        # 08:00 UTC is 10:00 in Madrid (summer time), shown in the organisation's zone.
        assert "2031-10-19 10:00" in rendered.text
        assert "Mass {with braces}" in rendered.text
