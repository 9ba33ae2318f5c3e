"""Dropping flagged training examples and augmenting rare classes (label_quality.md).

Usage:
    python benchmarks/label_quality.py --help     # every flag with its default

The same command as `emotag benchmark label-quality`; the code is `emotag.benchmarks.label_quality`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark label-quality"))
