"""Wide dataclasses of the core are keyword-only, so no call can swap two fields by position."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import core

# Narrow value types where position is the natural reading: Posting(account, amount).
NARROW = 3


def core_dataclasses() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(core.__path__):
        module = importlib.import_module(f"core.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_wide_core_dataclass_is_keyword_only() -> None:
    wide = [cls for cls in core_dataclasses() if len(dataclasses.fields(cls)) > NARROW]
    assert {cls.__name__ for cls in wide} >= {"NewJournal", "EarnResult", "Gift", "RefundResult"}
    positional = [
        cls.__qualname__
        for cls in wide
        if not all(field.kw_only for field in dataclasses.fields(cls))
    ]
    assert positional == []
