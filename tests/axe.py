"""axe-core in Chromium: a page passes when axe finds no serious or critical violation.

axe-core is the npm package (pinned in scripts/setup.sh, which installs it under
``.cache/node``, git-ignored). :func:`assert_accessible` evaluates ``axe.min.js`` in the
page through Playwright, so pages whose Content-Security-Policy forbids scripts (all of
Nightdesk's) are checked as served: the policy is not relaxed. Use it on any page a
browser test has open::

    from axe import assert_accessible
    assert_accessible(page, "story view")
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent.parent / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js"
#: Impacts that fail a page; "moderate" and "minor" findings are reported by axe but accepted.
FAILING_IMPACTS = ("serious", "critical")


def require_axe() -> None:
    """Fail (as root, where setup.sh installs it) or skip the calling module without axe-core."""
    if AXE_JS.exists():
        return
    if os.geteuid() == 0:
        pytest.fail(f"{AXE_JS} is missing although scripts/setup.sh runs as root and installs it", pytrace=False)
    pytest.skip(f"{AXE_JS} is missing: run scripts/setup.sh (npm install axe-core into .cache/node)",
                allow_module_level=True)


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: object) -> list[dict]:
    """axe's violations on the page as it is now (every impact), as axe reports them."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def assert_accessible(page: object, name: str) -> None:
    """Fail naming ``name``, each serious or critical rule, its help page and the elements."""
    failing = [v for v in violations(page) if v["impact"] in FAILING_IMPACTS]
    if failing:
        lines = [f"{name} ({page.url}): {len(failing)} serious or critical axe-core violation(s)"]
        for v in failing:
            lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
            for node in v["nodes"][:5]:
                lines.append(f"    {json.dumps(node['target'])}: {node['html'][:200]}")
                if node.get("failureSummary"):
                    lines.append("      " + node["failureSummary"].replace("\n", " ")[:300])
        pytest.fail("\n".join(lines), pytrace=False)
