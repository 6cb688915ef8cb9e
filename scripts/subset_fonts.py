"""Rebuild generators/fonts/ from Debian's fonts-noto-core package.

The chart cards draw with fonts that ship with the project, so a card looks the same on
every machine and never falls back to whatever fonts a worker has. The faces are Noto
Sans (Latin, Greek, Cyrillic, punctuation and symbols), Noto Sans Hebrew and Noto Sans
Arabic, regular and bold, without hinting (matplotlib lays text out unhinted), about
0.7 MB in all. Each family is renamed "Nightdesk ..." so that a machine with Noto
installed system-wide cannot substitute its own version (Noto declares no Reserved Font
Name, so the OFL allows the rename).

Usage (the .deb is fetched with ``apt-get download fonts-noto-core``)::

    dpkg-deb -x fonts-noto-core_*.deb /tmp/noto
    .venv/bin/python scripts/subset_fonts.py /tmp/noto/usr/share/fonts/truetype/noto
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parent.parent / "generators" / "fonts"
FACES = {"NotoSans": "Nightdesk Noto Sans", "NotoSansHebrew": "Nightdesk Noto Sans Hebrew",
         "NotoSansArabic": "Nightdesk Noto Sans Arabic"}


def _latin_greek_cyrillic(codepoint: int) -> bool:
    """Noto Sans's scripts the cards need: drops Vietnamese and phonetic extensions (half its size)."""
    return codepoint < 0x0530 or 0x2000 <= codepoint < 0x2C00 or 0xFB00 <= codepoint < 0xFB07 or codepoint == 0xFFFD


def subset_face(source: Path, target: Path, family: str, weight: str) -> None:
    font = TTFont(source)
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["*"]  # Arabic joining and Hebrew marks live in GSUB/GPOS
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    unicodes = set(font.getBestCmap())
    if source.name.startswith("NotoSans-"):
        unicodes = {u for u in unicodes if _latin_greek_cyrillic(u)}
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 16):
            record.string = family
        elif record.nameID == 4:
            record.string = family if weight == "Regular" else f"{family} {weight}"
        elif record.nameID == 6:
            record.string = f"{family.replace(' ', '')}-{weight}"
    font.save(target)


def main(source_dir: str) -> None:
    for face, family in FACES.items():
        for weight in ("Regular", "Bold"):
            name = f"{face}-{weight}.ttf"
            subset_face(Path(source_dir) / name, OUT / name, family, weight)
            print(f"{OUT / name}: {(OUT / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
