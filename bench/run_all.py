"""Run every benchmark script in bench/ and write one table to bench/RESULTS.md.

Usage: python bench/run [--out bench/RESULTS.md] [--timeout 240] [--only NAME ...]

Each script runs in its own process with a timeout. The protocol between the scripts
and this runner is one line per figure on stdout::

    RESULT name=<id> value=<number> unit=<unit> baseline=<number|-> ratio=<number|-> aim=<aim>

``aim`` is ``-`` (a figure without a target) or a comparison on ``value`` or ``ratio``
(``ratio<=1.3``, ``value>=0.9``, ``value<50``), optionally followed by a note for
people; the runner decides "met?" from it. Lines other than RESULT lines are kept in
the log only. A script that fails, times out or prints no RESULT line is listed as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: The scripts this runner knows, in the order they run; others found in bench/ follow.
KNOWN = ("startup.py", "responsiveness.py", "devices.py", "tls_handshakes.py")
SKIP = frozenset({"run_all.py"})
DEFAULT_TIMEOUT = 240.0

_RESULT = re.compile(
    r"^RESULT name=(?P<name>\S+) value=(?P<value>\S+) unit=(?P<unit>\S+) "
    r"baseline=(?P<baseline>\S+) ratio=(?P<ratio>\S+) aim=(?P<aim>.*)$"
)
_AIM = re.compile(r"^(?P<field>value|ratio)\s*(?P<op><=|>=|<|>)\s*(?P<limit>-?[0-9.]+)")


@dataclass(frozen=True)
class Figure:
    script: str
    name: str
    value: str
    unit: str
    baseline: str
    ratio: str
    aim: str

    def met(self) -> str:
        """'yes', 'no' or '-' (no target, or a target the runner cannot read)."""
        match = _AIM.match(self.aim.strip())
        if match is None:
            return "-"
        raw = self.value if match["field"] == "value" else self.ratio
        try:
            actual, limit = float(raw), float(match["limit"])
        except ValueError:
            return "-"
        ok = {
            "<=": actual <= limit, ">=": actual >= limit, "<": actual < limit, ">": actual > limit,
        }[match["op"]]
        return "yes" if ok else "**no**"


@dataclass(frozen=True)
class Run:
    script: str
    status: str  # ok, failed (rc), timeout, no figures
    seconds: float
    figures: tuple[Figure, ...]
    tail: str


def parse(script: str, stdout: str) -> tuple[Figure, ...]:
    figures: list[Figure] = []
    for line in stdout.splitlines():
        match = _RESULT.match(line.strip())
        if match:
            figures.append(Figure(script, match["name"], match["value"], match["unit"],
                                  match["baseline"], match["ratio"], match["aim"].strip()))
    return tuple(figures)


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if p.name not in SKIP)
    ordered = [BENCH / n for n in KNOWN if (BENCH / n).exists()]
    ordered += [p for p in found if p not in ordered]
    if only:
        ordered = [p for p in ordered if p.stem in only or p.name in only]
    return ordered


def run_one(path: Path, timeout: float) -> Run:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    start = time.perf_counter()
    # A new session, so a timeout can end the script and everything it started.
    proc = subprocess.Popen(
        [sys.executable, str(path)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate(timeout=30)
        return Run(path.name, f"timeout after {timeout:g} s", time.perf_counter() - start,
                   parse(path.name, out), (out + err)[-2000:])
    seconds = time.perf_counter() - start
    figures = parse(path.name, out)
    if proc.returncode != 0:
        status = f"failed (exit {proc.returncode})"
    elif not figures:
        status = "no RESULT lines"
    else:
        status = "ok"
    return Run(path.name, status, seconds, figures, (out + err)[-2000:])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render(runs: list[Run], started: datetime, total: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC by `bench/run` in {total:.0f} s on "
        f"{os.cpu_count()} CPU(s) ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
        "",
        "| figure | value | baseline | ratio | aim | met? |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        for f in run.figures:
            unit = "" if f.unit == "-" else f" {f.unit}"
            baseline = "-" if f.baseline == "-" else f"{f.baseline}{unit}"
            lines.append(f"| {f.name} | {f.value}{unit} | {baseline} | {f.ratio} | {f.aim} | "
                         f"{f.met()} |")
    lines += ["", "| script | status | time |", "|---|---|---|"]
    for run in runs:
        lines.append(f"| `bench/{run.script}` | {run.status} | {run.seconds:.0f} s |")
    problems = [r for r in runs if r.status != "ok"]
    for run in problems:
        lines += ["", f"Output of `bench/{run.script}` (last lines):", "", "```",
                  run.tail.strip(), "```"]
    lines += ["", "Protocol: each script prints `RESULT name=… value=… unit=… baseline=… "
              "ratio=… aim=…` lines; see `bench/run_all.py`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds each script may run")
    parser.add_argument("--only", nargs="+", help="run only these scripts (by name)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    runs: list[Run] = []
    for path in scripts(args.only):
        print(f"bench/run: {path.name} …", flush=True)
        run = run_one(path, args.timeout)
        runs.append(run)
        print(f"bench/run: {path.name}: {run.status} in {run.seconds:.0f} s", flush=True)
        for f in run.figures:
            print(f"  {f.name} = {f.value} {f.unit} (aim {f.aim}; met: {f.met()})")
    text = render(runs, started, time.perf_counter() - t0)
    args.out.write_text(text, encoding="utf-8")
    print(f"bench/run: wrote {args.out}")
    return 0 if all(r.status == "ok" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
