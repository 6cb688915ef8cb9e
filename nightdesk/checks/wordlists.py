"""Word and phrase lists shipped as data files.

Lists of terms change more often than the logic that applies them, and editors can
review a text file; so terms live in ``*.txt`` files (one entry per line, ``# `` starts a
comment line) and code only compiles them. Lists that hold for any text (banned terms,
prompt leaks) sit next to this module; lists that depend on what a story is about
(common words, standing phrases, claim words) belong to a domain folder
(``stories/domains/<domain>/``) and are read with :func:`domain_list`, which adds the
domain's entries to the shared defaults in ``stories/domains/default/``.
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
    return _read(DATA_DIR / filename, required=True)


def domain_list(domain_dir: Path, filename: str) -> tuple[str, ...]:
    """The default domain's ``filename`` plus the entries of ``domain_dir/filename``, when it
    has one (a domain adds to the shared list; a list it lacks is the default alone)."""
    return _domain_list(domain_dir, filename)


@lru_cache(maxsize=None)
def _domain_list(domain_dir: Path, filename: str) -> tuple[str, ...]:
    # Resolved here, inside the cache: resolving a path asks the file system for every
    # part of it, which cost more than the rest of the look-up.
    from nightdesk.stories.catalog import DEFAULT_DOMAIN, STORIES_DIR

    domain_dir = domain_dir.resolve()
    beside = domain_dir.parent / DEFAULT_DOMAIN
    default_dir = beside if beside.is_dir() else STORIES_DIR / "domains" / DEFAULT_DOMAIN
    entries = list(_read(default_dir / filename, required=True))
    if domain_dir != default_dir.resolve():
        entries += [e for e in _read(domain_dir / filename, required=False) if e not in entries]
    return tuple(entries)


@lru_cache(maxsize=None)
def domain_set(domain_dir: Path, filename: str) -> frozenset[str]:
    """A domain list lower-cased, for membership tests (built once: asked for by every draft)."""
    return frozenset(word.lower() for word in domain_list(domain_dir, filename))


def _read(path: Path, *, required: bool) -> tuple[str, ...]:
    if not path.exists():
        if required:
            raise FileNotFoundError(f"check word list {path} is missing")
        return ()
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(s for s in (line.strip() for line in lines) if s and s != "#" and not s.startswith("# "))


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
