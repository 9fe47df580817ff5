"""Sparse Jacobians and Hessians against the peers: now a front end of ``benchmarks/harness.py``.

Usage (unchanged)::

    python benchmarks/bench_derivatives.py                 # the standard problems
    python benchmarks/bench_derivatives.py --quick         # small sizes only
    python benchmarks/bench_derivatives.py --problems brusselator:128,arwhead:100000 \\
        --peers asdex,casadi --json results.json

This script used to run sparsead and its peers in one process; JAX loaded in a
process slows the numpy work in it 2-3x, so those figures were not comparable.
It now runs the harness (every tool in its own fresh process) for one round:
``--peers`` selects the tools besides sparsead (``none``: sparsead alone) and
``--repeats`` the calls per in-process median. For several rounds, spreads and
the load average, call ``benchmarks/harness.py`` directly.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", help="comma list name:size (default: the standard set)")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--peers", default=",".join(harness.PEERS),
                    help=f"comma list from {harness.PEERS} or 'none'")
    ap.add_argument("--repeats", type=int, default=20, help="calls per median")
    ap.add_argument("--backend", default=None, help="sparsead backend (default: its default)")
    ap.add_argument("--json", default=None, help="write the results to this JSON file")
    args = ap.parse_args(argv)
    peers = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]
    forward = ["--repeats", "1", "--calls", str(args.repeats),
               "--tools", ",".join(["sparsead"] + peers)]
    forward += ["--quick"] if args.quick else []
    for flag in ("problems", "backend", "json"):
        if getattr(args, flag):
            forward += [f"--{flag}", getattr(args, flag)]
    harness.main(forward)


if __name__ == "__main__":
    main()
