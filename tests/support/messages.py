"""The web app's messages (web/locales/<tag>.json) and the parameters each one takes: its
{name}s, and the counts its ICU plurals choose by ("{count, plural, one {...} other {...}}",
whose forms hold text only; web/js/i18n.js)."""

from __future__ import annotations

import json
import re
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parents[2] / "web" / "locales"
PARAMETER = re.compile(r"\{(\w+)\}")
PLURAL = re.compile(
    r"\{(\w+), plural,((?:\s*(?:=\d+|zero|one|two|few|many|other)\s*\{[^{}]*\})+)\s*\}"
)


def load(locale: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((LOCALES_DIR / f"{locale}.json").read_text("utf-8"))
    return data


def parameters(text: str) -> set[str]:
    counts = {name for name, _ in PLURAL.findall(text)}
    return counts | set(PARAMETER.findall(PLURAL.sub("", text)))


# CLDR's "one" for the languages with plural forms here (web/js/i18n.js asks Intl.PluralRules);
# Chinese has only "other".
_ONE = {
    "en": lambda n: n == 1,
    "es": lambda n: n == 1,
    "fr": lambda n: n in (0, 1),
    "pt": lambda n: n in (0, 1),
}


def render(locale: str, text: str, **params: object) -> str:
    """A message as the page shows it (plurals chosen, # and {name}s filled): for tests'
    expectations, for counts under 1,000 (no digit grouping)."""

    def plural(match: re.Match[str]) -> str:
        count = params[match.group(1)]
        assert isinstance(count, int)
        forms = dict(re.findall(r"(=\d+|\w+)\s*\{([^{}]*)\}", match.group(2)))
        one = "one" in forms and _ONE.get(locale, lambda n: False)(count)
        chosen = forms.get(f"={count}") or (forms["one"] if one else forms["other"])
        return chosen.replace("#", str(count))

    return PARAMETER.sub(lambda m: str(params[m.group(1)]), PLURAL.sub(plural, text))
