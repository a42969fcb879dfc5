"""Cold-start import time of each function group's `app` module.

Each group is imported in a fresh interpreter (as a new Lambda container would), several
times, and the median is printed with its ratio to the floor (below). Budget: every group
≤ 1.25× the floor, auth also ≤ 250 ms; the process exits 1 when one is over. The groups and the
floor are measured in turns (floor, auth, events, orders, lab, floor, ...), and a group's
ratio is the median over the rounds of its time ÷ the floor's in the same round (paired): a
change of the machine's load moves both sides of a ratio alike. (Medians of the two series
divided instead moved by up to 0.2 between two quiet runs on this shared 2-core machine.)

The deployed artifacts carry compiled bytecode (`infra/package.py` runs compileall: Lambda
cannot write `__pycache__`), so the probe first byte-compiles the repository's code in place,
as the installed libraries already are; otherwise every run would time our modules' compilation
from source (this machine sets PYTHONDONTWRITEBYTECODE) against libraries that are compiled.

The Lambda layer does not ship awscrt (only the edge agent uses it), but botocore imports it
whenever it is installed, as it is in this virtualenv; the probe hides it so the figures are
those of the deployed package. The `floor` row is botocore + PynamoDB + Chalice alone: what
any group that touches DynamoDB pays before running a line of its own.

    .venv/bin/python bench/cold_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MS = {"auth": 250}
RATIO_BUDGET = 1.25
GROUPS = ("floor", "auth", "events", "orders", "lab")
PROBE = """
import importlib.util, os, sys, time
sys.modules["awscrt"] = None  # not in the Lambda layer (see the docstring)
os.environ.setdefault("OPENEVENT_JWT_SECRET", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = (time.perf_counter() - start) * 1000
heavy = sorted(m for m in ("weasyprint", "stripe", "awscrt", "awsiot", "numpy", "moto")
               if sys.modules.get(m) is not None)
print(f"{elapsed:.1f} {','.join(heavy) or '-'}")
"""


FLOOR = """
import sys, time
sys.modules["awscrt"] = None
start = time.perf_counter()
import chalice.app, pynamodb.models  # noqa: E401
print(f"{(time.perf_counter() - start) * 1000:.1f} -")
"""


def measure_once(group: str) -> tuple[float, str]:
    argv = ([sys.executable, "-c", FLOOR] if group == "floor" else
            [sys.executable, "-c", PROBE, str(ROOT / "functions" / group / "app.py")])
    out = subprocess.run(  # noqa: S603 - our own interpreter and files
        argv, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split()
    return float(out[0]), out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "layers/openevent", "functions"],  # noqa: S603
                   check=True, cwd=ROOT)
    times: dict[str, list[float]] = {g: [] for g in GROUPS}
    heavy: dict[str, str] = {}
    for _ in range(args.runs):
        for group in GROUPS:
            ms, heavy[group] = measure_once(group)
            times[group].append(ms)
    print(f"{'group':8} {'median ms':>10} {'× floor':>8} {'budget':>8}  heavy modules loaded")
    failed = []
    for group in GROUPS:
        ms = statistics.median(times[group])
        ratio = statistics.median(t / f for t, f in zip(times[group], times["floor"],
                                                          strict=True))
        over = group != "floor" and (ratio > RATIO_BUDGET or ms > TARGETS_MS.get(group, 1e9))
        if over:
            failed.append(group)
        budget = "-" if group == "floor" else f"≤{RATIO_BUDGET}×"
        print(f"{group:8} {ms:10.1f} {ratio:8.2f} {budget:>8}  {heavy[group]}"
              f"{'  OVER' if over else ''}")
    if failed:
        print(f"over budget: {', '.join(failed)} (see which imports cost with "
              "`python -X importtime functions/<group>/app.py`)")
        sys.exit(1)


if __name__ == "__main__":
    main()
