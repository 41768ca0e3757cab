"""Every shipped language has every English message, with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

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


def test_every_journal_kind_has_a_history_line() -> None:
    from core.model import JournalKind

    missing = {f"history.{kind.value}" for kind in JournalKind} - CATALOGS.keys("en")
    assert missing == set()


def test_every_domain_error_has_a_message() -> None:
    from core import errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError) and cls.code != "error"
    }
    assert {f"error.{code}" for code in codes} - CATALOGS.keys("en") == set()


def test_every_command_has_usage_and_help() -> None:
    from bot.commands import all_commands

    names = {c.name for c in all_commands()}
    missing_usage = {f"usage.{n}" for n in names} - CATALOGS.keys("en")
    missing_help = {f"help.{n}" for n in names - {"confirm", "cancel"}} - CATALOGS.keys("en")
    assert (missing_usage, missing_help) == (set(), set())


def _write_po(path: Path, entries: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f'msgid "{key}"\nmsgstr "{text}"\n\n' for key, text in entries.items())
    path.write_text('msgid ""\nmsgstr ""\n"Language: en\\n"\n\n' + body, encoding="utf-8")


def test_several_catalog_files_per_language_are_read_together(tmp_path: Path) -> None:
    _write_po(tmp_path / "en/LC_MESSAGES/messages.po", {"a": "A"})
    _write_po(tmp_path / "en/LC_MESSAGES/extra.po", {"b": "B"})
    catalogs = Catalogs(tmp_path)
    assert (catalogs.template("a", "en"), catalogs.template("b", "en")) == ("A", "B")


def test_a_key_defined_in_two_catalog_files_is_refused(tmp_path: Path) -> None:
    _write_po(tmp_path / "en/LC_MESSAGES/messages.po", {"a": "A"})
    _write_po(tmp_path / "en/LC_MESSAGES/extra.po", {"a": "other"})
    with pytest.raises(ValueError, match="another catalog"):
        Catalogs(tmp_path)
