"""The deterministic data-to-text generator: a story's template filled from its fact sheet.

This is how newsroom bots have written earthquake and earnings stories for years: every
figure in the output is a fact's written form, so it is correct by construction. It is
the factual baseline, the fallback when a model's draft fails its checks, and what tests
and CI can rely on without a model.
"""

from __future__ import annotations

from collections.abc import Mapping

MODEL_ID = "template"


def render_template(template: str, facts: Mapping[str, str], *, keep_lines: bool = False) -> str:
    """Render ``template`` (Jinja) with the facts' written forms; a missing fact is an error.

    Output is plain text (no autoescaping): it is escaped where it is shown as HTML. The
    filters of :mod:`nightdesk.stories.phrasing` keep words in agreement with the figures.
    Whitespace runs become one space, unless ``keep_lines`` (for a prompt, whose line
    breaks carry its structure): then only the ends are stripped.
    """
    from jinja2 import Environment, StrictUndefined

    from nightdesk.stories.phrasing import FILTERS

    env = Environment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(FILTERS)
    text = env.from_string(template).render(facts)
    return text.strip() if keep_lines else " ".join(text.split())
