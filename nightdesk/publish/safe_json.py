"""JSON that stays inert when a page embeds it.

Published JSON (the JSON Feed, the social posts) carries model and editor text, and a
consumer may paste it into an HTML page, e.g. inside ``<script type="application/json">``.
Valid JSON is not enough there: a string holding ``</script>`` ends the element. So
``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (U+2028 and
U+2029 too, which end a line in older JavaScript), exactly as Go's ``encoding/json`` and
Django's ``json_script`` do. Every JSON parser reads the same strings back.
"""

from __future__ import annotations

import json

# JSON's own syntax uses none of these characters, so every occurrence is inside a string
# and replacing it with its \u escape keeps the document's meaning.
_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"})


def html_safe_json(value: object) -> bytes:
    """``value`` as indented UTF-8 JSON with a final newline, safe to embed in HTML."""
    return (json.dumps(value, ensure_ascii=False, indent=2).translate(_ESCAPES) + "\n").encode()
