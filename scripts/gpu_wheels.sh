#!/usr/bin/env bash
# Wheels for a GPU worker whose Python has only torch and transformers: everything else
# benchmarks/gpu_throughput.py imports (diffusers, llguidance for the fact lock, pandas for
# the night path's warehouse rows, and what they pull in), built for the worker's Python
# and platform, into one folder, with their total size against the 64 MiB budget.
#
#   scripts/gpu_wheels.sh OUT_DIR [--python 3.11] [--glibc 2.34] [--arch x86_64] [--provided FREEZE] [--measure-chdb]
#
# --glibc is the worker's glibc (ldd --version): a wheel built for any manylinux up to it
#   runs there. pip does not widen a --platform by itself, so every manylinux_2_N up to it
#   is listed.
# --provided is the worker's `pip freeze`: what it lists is not shipped. Without it, the
#   worker is assumed to have torch and transformers with their dependencies, resolved here
#   at the versions of constraints.txt.
# --measure-chdb downloads the warehouse engine's wheels only to report their size: they are
#   never shipped (chdb-core alone is 181 MB), and the benchmark measures the night path's
#   warehouse writes as it says in its table.
# The nightdesk package itself is not built: the night path reads stories/ and warehouse/
# from the checkout, which a wheel does not carry, so the script runs from a checkout and
# puts it first on sys.path.
# Exit status: 0 within budget, 1 over it, 2 on a bad argument or a failed download.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PIP=${PIP:-"$ROOT/.venv/bin/pip"}
[ -x "$PIP" ] || PIP="python3 -m pip"
BUDGET_BYTES=$((64 * 1024 * 1024))
ROOTS=(diffusers llguidance pandas)

out=""; python=3.11; glibc=2.34; arch=x86_64; provided=""; measure_chdb=0
while [ $# -gt 0 ]; do
  case "$1" in
    --python) python=$2; shift 2 ;;
    --glibc) glibc=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --provided) provided=$2; shift 2 ;;
    --measure-chdb) measure_chdb=1; shift ;;
    -*) echo "gpu_wheels.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
[ -n "$out" ] || { echo "usage: scripts/gpu_wheels.sh OUT_DIR [--python 3.11] [--glibc 2.34] [--arch x86_64] [--provided FREEZE] [--measure-chdb]" >&2; exit 2; }

platforms=(--platform "manylinux2014_$arch")
minor=${glibc#2.}
for n in $(seq 17 "$minor"); do platforms+=(--platform "manylinux_2_${n}_$arch"); done
target=(--only-binary=:all: --python-version "$python" "${platforms[@]}" -c "$ROOT/constraints.txt")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The project name of a wheel file, normalised (PEP 503) so names compare across spellings.
name_of() { basename "$1" | cut -d- -f1 | tr 'A-Z_.' 'a-z--'; }
normalise() { tr 'A-Z_.' 'a-z--'; }

# 1. What the worker has already
if [ -n "$provided" ]; then
  sed -e 's/[=<>@ ].*//' "$provided" | normalise | sort -u > "$scratch/provided"
else
  $PIP download -q "${target[@]}" -d "$scratch/base" transformers || { echo "gpu_wheels.sh: cannot resolve transformers" >&2; exit 2; }
  for wheel in "$scratch"/base/*.whl; do name_of "$wheel"; done > "$scratch/provided"
  # torch's own requirements (its CUDA build adds nvidia-* and triton, which are never shipped either)
  printf '%s\n' torch filelock typing-extensions sympy mpmath networkx jinja2 markupsafe fsspec setuptools \
    triton >> "$scratch/provided"
  sort -u -o "$scratch/provided" "$scratch/provided"
fi

# 2. The roots and everything they need, then drop what the worker has
mkdir -p "$out"
rm -f "$out"/*.whl
$PIP download -q "${target[@]}" -d "$scratch/all" "${ROOTS[@]}" || { echo "gpu_wheels.sh: download failed" >&2; exit 2; }
for wheel in "$scratch"/all/*.whl; do
  grep -qx "$(name_of "$wheel")" "$scratch/provided" || cp "$wheel" "$out/"
done

# 3. Sizes against the budget
total=0
printf '%-78s %10s\n' "wheel (python $python, glibc <= $glibc, $arch)" "MiB"
for wheel in "$out"/*.whl; do
  size=$(stat -c %s "$wheel"); total=$((total + size))
  printf '%-78s %10.2f\n' "$(basename "$wheel")" "$(echo "$size / 1048576" | bc -l)"
done
printf '%-78s %10.2f  (budget 64.00)\n' "total, $(ls "$out"/*.whl | wc -l) wheels" "$(echo "$total / 1048576" | bc -l)"
if [ "$measure_chdb" = 1 ]; then
  $PIP download -q --no-deps "${target[@]}" -d "$scratch/chdb" chdb chdb-core
  chdb_total=$(cat "$scratch"/chdb/*.whl | wc -c)
  printf '%-78s %10.2f  (not shipped)\n' "chdb + chdb-core, the warehouse engine" "$(echo "$chdb_total / 1048576" | bc -l)"
fi
[ "$total" -le "$BUDGET_BYTES" ] || { echo "gpu_wheels.sh: over the 64 MiB budget" >&2; exit 1; }
