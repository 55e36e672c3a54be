"""One module per language; the tag each module serves is in LANGUAGES."""

from signupflow.notifications.locales import en, es, fr, pt, zh_hans, zh_hant

LANGUAGES: dict[str, dict[str, str]] = {
    "en": en.STRINGS,
    "es": es.STRINGS,
    "fr": fr.STRINGS,
    "pt": pt.STRINGS,
    "zh-Hans": zh_hans.STRINGS,
    "zh-Hant": zh_hant.STRINGS,
}
