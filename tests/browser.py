"""How the browser tests start Chromium: Debian's ``/usr/bin/chromium`` driven by Playwright.

Playwright's own browser download is never used (``playwright install`` is not run
anywhere). scripts/setup.sh installs Chromium whenever it runs as root, as CI does: there
a missing browser is a broken set-up and fails; elsewhere the browser tests skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    """Fail (as root, where setup.sh installs it) or skip the calling module without Chromium."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0:
        pytest.fail(f"{CHROMIUM} is missing although scripts/setup.sh runs as root and installs it", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)
