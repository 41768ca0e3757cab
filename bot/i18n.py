"""Message catalogs: gettext .po files under bot/locales, read with Babel at start-up.

Each language folder may hold several catalogs (`messages.po` for the core commands, one
file per feature area beside it); they are read together and must not repeat a key.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"


class Catalogs:
    """Every shipped language's messages; lookups fall back to English, then to the key."""

    def __init__(self, directory: Path = LOCALES) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
            messages = self._messages.setdefault(path.parent.parent.name, {})
            read = _read(path)
            if repeated := sorted(messages.keys() & read.keys()):
                raise ValueError(f"{path}: keys defined in another catalog too: {repeated}")
            messages.update(read)

    @property
    def languages(self) -> list[str]:
        return sorted(self._messages)

    def language_for(self, wanted: str | None) -> str:
        """The best shipped language for a setting or client code such as "tr" or "en-GB"."""
        if wanted:
            base = wanted.replace("_", "-").split("-")[0].lower()
            if base in self._messages:
                return base
        return DEFAULT_LANGUAGE

    def template(self, key: str, language: str) -> str:
        """The message text for `key` in `language`."""
        for lang in (language, DEFAULT_LANGUAGE):
            text = self._messages.get(lang, {}).get(key)
            if text:
                return text
        return key

    def keys(self, language: str = DEFAULT_LANGUAGE) -> set[str]:
        return set(self._messages.get(language, {}))


def _read(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)}


@cache
def shipped_catalogs() -> Catalogs:
    """The catalogs shipped with the bot, read once."""
    return Catalogs()
