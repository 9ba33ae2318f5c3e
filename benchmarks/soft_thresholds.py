"""Per-class thresholds tuned against soft dev labels -> benchmarks/results/soft_thresholds.md.

Usage:
    python benchmarks/soft_thresholds.py --models artifacts/<run> ...
    python benchmarks/soft_thresholds.py --models artifacts/<student> --teacher artifacts/<ens>
    python benchmarks/soft_thresholds.py --help     # every flag with its default

The same command as `emotag benchmark soft-thresholds`; the code is
`emotag.benchmarks.soft_thresholds`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark soft-thresholds"))
