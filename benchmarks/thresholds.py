"""Exact vs bagged per-class thresholds of runs -> benchmarks/results/thresholds.md.

Usage:
    python benchmarks/thresholds.py --models artifacts/<run> ...
    python benchmarks/thresholds.py --semeval-style /tmp/semeval-style  # synthetic E-c files
    python benchmarks/thresholds.py --help     # every flag with its default

The same command as `emotag benchmark thresholds`; the code is `emotag.benchmarks.thresholds`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark thresholds"))
