"""Benchmark the policy gate (`make scan` without make's setup check): medians of wall time, CPU and peak memory.

Usage: `python benchmarks/gate_time.py --runs 3 [--baseline main]`. The gate plans every stack and scenario,
generates the template's projects and runs checkov over all of it; see benchmarks/ab.py for what is measured
and how a baseline runs. Machines here are shared: quote the medians with the load average.
"""

from __future__ import annotations

from ab import compare, parser


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    compare("policy gate", ["-m", "infra.plan.gate"], args)


if __name__ == "__main__":
    main()
