"""Texts/s and latency of trained runs' SavedModels -> benchmarks/results/throughput.md.

Usage:
    python benchmarks/throughput.py --help     # every flag with its default

The same command as `emotag benchmark throughput`; the code is `emotag.benchmarks.throughput`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark throughput"))
