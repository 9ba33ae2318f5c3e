"""Threshold objectives and temperature scaling of runs -> benchmarks/results/calibration.md.

Usage:
    python benchmarks/calibration.py --models artifacts/<run> ...
    python benchmarks/calibration.py --semeval-style /tmp/semeval-style  # synthetic E-c files
    python benchmarks/calibration.py --help     # every flag with its default

The same command as `emotag benchmark calibration`; the code is `emotag.benchmarks.calibration`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark calibration"))
