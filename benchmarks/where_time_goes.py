"""Where the kernel's time goes, by function: a sampling profile of the compiled code.

Run ``python benchmarks/where_time_goes.py [--config configs/default.toml] [--seconds 15]``. A child
process simulates the scenario on one thread in a loop; Linux ``perf`` samples it for
``--seconds``; ``gdb``, attached to the still-running child, names each sampled address (numba
registers its compiled code with gdb's JIT interface, so the kernel's functions have names, and
libm's ``exp``/``expm1``/``erfc`` keep theirs). Samples are summed by function, the numba
mangling reduced to ``module.function``. Functions inlined into a caller count as the caller
(``engine.run_drawn`` holds the event loop and every handler marked ``inline="always"``).

It prints a table, then as its last line one JSON object: the share of samples per function
(percent, the top ``--top``), the samples taken, and the share the names were found for.
Nothing here is asserted or timed: it says where to look, for ``benchmarks/ab.py`` to measure.

Needs ``perf`` (Debian: linux-perf) with permission to sample another process of the same user
(``/proc/sys/kernel/perf_event_paranoid`` at most 2) and ``gdb``; it says which is missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import os, sys, numba
from oligosim.config import load_scenario
from oligosim.simulate import run_scenario
numba.set_num_threads(1)
sc = load_scenario({config!r})
run_scenario(sc, patients=100, threads=1)
print(os.getpid(), flush=True)
while True:
    run_scenario(sc, patients=5000, threads=1)
"""

def _itanium_pieces(sym: str) -> list[str]:
    """The length-prefixed names of an Itanium nested name ``_ZN<len><name>...``, read up to the
    first piece that is not one (numba's ``B``-tags, the ``E`` that ends the name)."""
    parts, i = [], 3
    while i < len(sym) and sym[i].isdigit():
        j = i
        while j < len(sym) and sym[j].isdigit():
            j += 1
        n = int(sym[i:j])
        parts.append(sym[j : j + n])
        i = j + n
    return parts


def _demangle_numba(sym: str) -> str:
    """``module.function`` of a numba symbol (Itanium-style or already demangled), else ``sym``."""
    sym = sym.strip()
    if "::" in sym:
        name = sym.split("[abi:")[0].split("(")[0]
        return ".".join(name.split("::")[-2:])
    if sym.startswith("_ZN"):
        parts = _itanium_pieces(sym)
        if parts and parts[0].startswith("_3cdynamic_3e"):
            return "<numba parallel loop>"
        if parts:
            return ".".join(parts[-2:])
    return sym


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SystemExit(f"where_time_goes.py: '{tool}' is not installed (Debian: apt-get install {'linux-perf' if tool == 'perf' else tool})")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.toml")
    ap.add_argument("--seconds", type=float, default=15.0, help="how long perf samples the child")
    ap.add_argument("--top", type=int, default=25, help="functions listed")
    ap.add_argument("--frequency", type=int, default=1999, help="samples per second")
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.top < 1 or args.frequency < 1:
        ap.error("--seconds, --top and --frequency must be positive")
    perf, gdb = _require("perf"), _require("gdb")

    config = str((ROOT / args.config).resolve())
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(config=config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = child.stdout.readline()
        if not line.strip().isdigit():
            raise SystemExit(f"where_time_goes.py: the simulating process failed:\n{child.stderr.read()[-3000:]}")
        pid = line.strip()
        time.sleep(1.0)
        with tempfile.TemporaryDirectory(prefix="oligosim-prof-") as tmp:
            data = Path(tmp) / "perf.data"
            rec = subprocess.run([perf, "record", "-q", "-F", str(args.frequency), "-p", pid, "-o", str(data), "--", "sleep", str(args.seconds)], capture_output=True, text=True)
            if rec.returncode != 0 or not data.exists():
                raise SystemExit(f"where_time_goes.py: perf record failed (perf_event_paranoid?):\n{rec.stderr[-2000:]}")
            script = subprocess.run([perf, "script", "-i", str(data), "-F", "ip"], capture_output=True, text=True, check=True)
            ips = collections.Counter(x.strip() for x in script.stdout.split() if x.strip())
            addresses = [a for a, _ in ips.most_common()]
            cmds = Path(tmp) / "gdb.txt"
            cmds.write_text("".join(f"info symbol 0x{a}\n" for a in addresses))
            out = subprocess.run([gdb, "-p", pid, "-batch", "-x", str(cmds)], capture_output=True, text=True)
    finally:
        child.kill()
        child.wait()
    answers = [ln for ln in out.stdout.splitlines() if " in section " in ln or ln.startswith("No symbol matches")]
    if len(answers) != len(addresses):
        raise SystemExit(f"where_time_goes.py: gdb named {len(answers)} of {len(addresses)} addresses; its output:\n{out.stderr[-2000:]}")
    by_function: collections.Counter[str] = collections.Counter()
    named = 0
    for addr, answer in zip(addresses, answers):
        n = ips[addr]
        if answer.startswith("No symbol matches"):
            by_function["<unnamed>"] += n
            continue
        named += n
        sym = re.sub(r" \+ \d+ in section .*$| in section .*$", "", answer)
        by_function[_demangle_numba(sym)] += n
    total = sum(ips.values())
    print(f"{total:,} samples over {args.seconds:g} s, names found for {100 * named / total:.1f}%")
    print(f"{'share':>7}  function")
    top = by_function.most_common(args.top)
    for name, n in top:
        print(f"{100 * n / total:>6.1f}%  {name}")
    print(json.dumps({"config": args.config, "samples": total, "named_share": round(named / total, 4), "share_percent": {k: round(100 * n / total, 2) for k, n in top}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
