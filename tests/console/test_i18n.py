"""Every interface text in both languages, with the same placeholders; and every key a
template or page names exists (a missing key would fall back or fail on the page)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from api.console import i18n

CONSOLE = Path(i18n.__file__).parent


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    assert set(i18n.TEXT["en"]) == set(i18n.TEXT["zh"])
    for key, english in i18n.TEXT["en"].items():
        assert _placeholders(english) == _placeholders(i18n.TEXT["zh"][key]), key


def test_every_key_named_in_the_console_exists() -> None:
    # A key built on the page ("warnings.severity." ~ s) ends in a dot: not matched.
    called = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_0-9.]*[a-z_0-9])["']""")
    passed = re.compile(r"""["']((?:signin|form|error|mode)\.[a-z_]+)["']""")
    named = set()
    for source in [*CONSOLE.glob("templates/*.j2"), *CONSOLE.glob("**/*.py")]:
        text = source.read_text()
        named |= set(called.findall(text)) | set(passed.findall(text))
    assert len(named) > 50, "the patterns miss the keys"
    assert named - set(i18n.TEXT["en"]) == set()


def test_the_language_is_the_cookies_else_the_browsers_else_english() -> None:
    assert i18n.choose("zh", "en-US") == "zh"
    assert i18n.choose(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.choose("fr", "de-DE, en;q=0.5") == "en"
    assert i18n.choose(None, None) == "en"
