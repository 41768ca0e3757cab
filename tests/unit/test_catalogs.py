"""Every shipped language has every English message, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import Catalogs

CATALOGS = Catalogs()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [lang for lang in CATALOGS.languages if lang != "en"])
def test_every_english_key_is_translated(language: str) -> None:
    assert CATALOGS.keys("en") - CATALOGS.keys(language) == set()


@pytest.mark.parametrize("language", [lang for lang in CATALOGS.languages if lang != "en"])
def test_placeholders_match_english(language: str) -> None:
    mismatched = {
        key: (
            placeholders(CATALOGS.template(key, "en")),
            placeholders(CATALOGS.template(key, language)),
        )
        for key in CATALOGS.keys("en")
        if placeholders(CATALOGS.template(key, "en"))
        != placeholders(CATALOGS.template(key, language))
    }
    assert mismatched == {}


def test_turkish_is_shipped() -> None:
    assert "tr" in CATALOGS.languages
    assert CATALOGS.language_for("tr-TR") == "tr"
