"""Receipt numbers as keys: the same receipt typed or printed differently keys one purchase."""

from __future__ import annotations

import unicodedata


def normalize_receipt(text: str) -> str:
    """`R-500`, `r-500`, `R-500.` and full-width `Ｒ-500` all become `R-500`."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return folded.rstrip(".").strip()
