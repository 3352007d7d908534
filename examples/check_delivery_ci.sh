#!/usr/bin/env bash
# Check a PCRS delivery in a CI job: fails the job when the delivery has errors.
#
# Who it is for: surveying contractors who want every delivery checked automatically
# (GitLab CI, GitHub Actions, Jenkins...) before it is handed over.
# What it needs: pcrs installed in the job's image (the wheel built by `python -m build` in a
# clone: `pip install pcrs-*.whl`; `pip install pcrs` once published); for the XSD step, once,
# `pcrs schemas install --from DIR` (a folder of the PCRS/GML schemas with catalog.xml).
#
# Usage: examples/check_delivery_ci.sh [DELIVERY (file or folder)] [REPORT_DIR] [LANG]
#   With no DELIVERY a small valid delivery is generated (set PLANT_DEFECTS=1 to plant
#   five defects in it and watch the job fail).
# Keep REPORT_DIR as the job's artifacts: report.html, findings.gpkg, report.json.
# Exit code: 0 no error (warnings allowed), 1 errors found, 2 unusable input.
#
# GitLab CI, for instance:
#   check-pcrs:
#     script: [pip install wheels/pcrs-*.whl, examples/check_delivery_ci.sh livraison/ rapport fr]
#     artifacts: {when: always, paths: [rapport/]}
set -uo pipefail

delivery="${1:-}"
out="${2:-validation-report}"
lang="${3:-en}"
python="${PYTHON:-python3}"
mkdir -p "$out"

if [ -z "$delivery" ]; then
    delivery="$out/delivery.gml"
    "$python" - "$delivery" "${PLANT_DEFECTS:-0}" <<'PY'
import sys
from pathlib import Path

from pcrs.demo import plant_defects
from pcrs.vector.sample import delivery_text

text = delivery_text(4, seed=1)
if sys.argv[2] == "1":
    text, _ = plant_defects(text)
Path(sys.argv[1]).write_text(text, encoding="utf-8")
PY
    echo "generated $delivery"
fi

"$python" -m pcrs validate "$delivery" --lang "$lang" --overwrite \
    --html "$out/report.html" --gpkg "$out/findings.gpkg" --json-out "$out/report.json"
status=$?

case $status in
    0) echo "PCRS check passed: no error (reports in $out/)" ;;
    1) echo "PCRS check FAILED: the delivery has errors, see $out/report.html" >&2 ;;
    *) echo "PCRS check could not run (exit $status): see the message above" >&2 ;;
esac
exit $status
