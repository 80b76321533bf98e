"""Benchmark `make plan STACK=<stack>` (without make's setup check): medians of wall time, CPU and peak memory.

Usage: `python benchmarks/plan_time.py --stack prod --runs 5 [--baseline main]`; see benchmarks/ab.py for
what is measured and how a baseline runs. Machines here are noisy: quote the medians with the load average.
"""

from __future__ import annotations

from ab import compare, parser


def main() -> None:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--stack", default="prod")
    args = options.parse_args()
    compare(f"plan of {args.stack}", ["-m", "infra.plan", "--stack", args.stack], args)


if __name__ == "__main__":
    main()
