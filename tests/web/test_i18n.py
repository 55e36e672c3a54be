"""Every visible string comes from the locale files. Convention: markup carries data-i18n*
attributes (its English text is only a fallback before the script runs); scripts call
t('key') or name keys in literal maps; no other literal in web/js reads like prose."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.messages import PLURAL, load, parameters
from tests.support.problem_codes import source_codes

WEB = Path(__file__).resolve().parents[2] / "web"
LOCALES = ["en", "es", "fr", "pt", "zh-Hans", "zh-Hant"]
SCRIPTS = sorted((WEB / "js").rglob("*.js"))
INDEX = WEB / "index.html"
TRANSLATED_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")
# Same in every language by design: language names are written in their own language.
UNTRANSLATED = re.compile(r"^(language\.|app\.name$|dashboard\.slot_coverage$)")
STRING_LITERAL = re.compile(r"""(['"`])((?:\\.|(?!\1).)*)\1""")
# "shift(s)": a count reads as the language's plural rules pick (i18n.js, ICU plural syntax).
BRACKETED_PLURAL = re.compile(r"\w\((?:s|es|x|as|os)\)")
# Technical literals that contain capitals or spaces yet are not shown to anyone.
CSS_CLASSES = set(re.findall(r"\.([a-z][a-z0-9-]*)", (WEB / "css" / "app.css").read_text("utf-8")))
TECHNICAL = {"Bearer ", "Content-Type", "Authorization", "Accept", "GET", "POST", "PATCH", "PUT"}


def literals(source: str) -> list[str]:
    without_comments = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)
    found = []
    for match in STRING_LITERAL.finditer(without_comments):
        body = match.group(2)
        if match.group(1) == "`":
            body = re.sub(r"\$\{[^}]*\}", " ", body)
        found.append(body)
    return found


def used_keys() -> set[str]:
    namespaces = {key.split(".")[0] for key in load("en")}
    codes = source_codes()  # a script may compare a problem's code: that literal is no key
    keys = set()
    for script in SCRIPTS:
        for literal in literals(script.read_text("utf-8")):
            if literal in codes:
                continue
            if literal.split(".")[0] in namespaces and re.fullmatch(r"[a-z_]+(\.[\w-]+)+", literal):
                keys.add(literal)
    keys |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', INDEX.read_text("utf-8")))
    # The server names these: forms.js shows "problem.<code>" for a problem's code.
    keys |= {f"problem.{code}" for code in source_codes()}
    return keys


@pytest.mark.parametrize("locale", LOCALES[1:])
def test_every_locale_has_exactly_the_english_keys(locale: str) -> None:
    english, other = load("en"), load(locale)
    assert sorted(set(english) - set(other)) == [], "missing"
    assert sorted(set(other) - set(english)) == [], "unknown"


@pytest.mark.parametrize("locale", LOCALES)
def test_messages_are_non_empty_and_keep_their_placeholders(locale: str) -> None:
    english = load("en")
    for key, text in load(locale).items():
        assert text.strip(), f"{locale}: {key} is empty"
        assert parameters(text) == parameters(english[key]), (
            f"{locale}: {key} changes the placeholders of {english[key]!r}"
        )


@pytest.mark.parametrize("locale", LOCALES)
def test_counts_use_plural_forms_not_brackets(locale: str) -> None:
    for key, text in load(locale).items():
        assert not BRACKETED_PLURAL.search(text), f"{locale}: {key} writes a plural in brackets"
        for match in re.finditer(r"\{\w+, plural,", text):
            form = PLURAL.match(text, match.start())
            assert form is not None, f"{locale}: {key} has a malformed plural"
            assert re.search(r"(?:^|\})\s*other\s*\{", form.group(2)), (
                f"{locale}: {key} lacks other"
            )


@pytest.mark.parametrize("locale", ["zh-Hans", "zh-Hant"])
def test_chinese_addresses_the_reader_one_way(locale: str) -> None:
    # The polite 您 throughout: a page that mixes it with 你 reads as careless.
    assert [key for key, text in load(locale).items() if "你" in text] == []


@pytest.mark.parametrize("locale", LOCALES[1:])
def test_locales_are_translated_not_copied(locale: str) -> None:
    english, other = load("en"), load(locale)
    copied = [
        key
        for key, text in other.items()
        if text == english[key] and not UNTRANSLATED.match(key) and len(text) > 3
    ]
    assert len(copied) <= 0.05 * len(english), copied


def test_every_key_used_in_the_app_exists() -> None:
    assert sorted(used_keys() - set(load("en"))) == []


def test_every_key_in_the_locales_is_used() -> None:
    assert sorted(set(load("en")) - used_keys()) == []


def test_translation_calls_name_literal_keys() -> None:
    # t(someVariable) is fine only when the variable comes from a literal map; t(`a.${b}`) hides
    # keys from this test, so it is not allowed.
    for script in SCRIPTS:
        source = script.read_text("utf-8")
        assert not re.search(r"\bt\(\s*`", source), f"{script.name}: t() with a template key"


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict[str, str | None]] = []
        self.untranslated: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in TRANSLATED_ATTRIBUTES:
            if name in attributes and f"data-i18n-{name}" not in attributes:
                self.untranslated.append(f"<{tag} {name}={attributes[name]!r}>")
        if tag not in ("meta", "link", "br", "input", "img"):
            self.stack.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and "data-i18n" in self.stack[-1]):
            self.untranslated.append(data.strip())


def test_index_html_has_no_text_outside_data_i18n() -> None:
    collector = _TextCollector()
    collector.feed(INDEX.read_text("utf-8"))
    assert collector.untranslated == []


def hard_coded_text(source: str) -> list[str]:
    """The string literals of a script that read like text shown to someone."""
    prose = []
    for literal in literals(source):
        if literal in TECHNICAL or set(literal.split()) <= CSS_CLASSES:
            continue
        looks_like_words = re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", literal)
        capitalised_word = re.fullmatch(r"[A-Z][a-z]{2,}[.!?]?", literal)
        non_latin = re.search(r"[^\x00-\x7f\u2013\u2014\u2026\u00b7]", literal)
        if looks_like_words or capitalised_word or non_latin:
            prose.append(literal)
    return prose


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(WEB)))
def test_scripts_hold_no_hard_coded_text(script: Path) -> None:
    prose = hard_coded_text(script.read_text("utf-8"))
    assert prose == [], f"use t('key') for: {prose}"


def test_the_scanner_catches_a_hard_coded_string() -> None:
    sample = (
        "h('p', {}, 'Save changes'); h('h2', {}, 'Settings'); h('p', {}, '保存');\n"
        "// h('p', {}, 'Only a comment');\n"
        "h('button', { className: 'primary', type: 'button' }, t('action.save'));"
    )
    assert hard_coded_text(sample) == ["Save changes", "Settings", "保存"]


def test_every_error_a_csv_line_can_have_is_translated() -> None:
    from signupflow.people.csv_io import LINE_ERRORS

    page = (WEB / "js" / "pages" / "people.js").read_text("utf-8")
    mapped = dict(re.findall(r"^  (\w+): '(csv\.line\.\w+)',$", page, re.MULTILINE))
    assert mapped == {code: f"csv.line.{code}" for code in LINE_ERRORS}
