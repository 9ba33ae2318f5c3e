"""The default BiLSTM and its ablations over seeds -> benchmarks/results/quality.md.

Usage:
    python benchmarks/quality.py --help     # every flag with its default

The same command as `emotag benchmark quality`; the code is `emotag.benchmarks.quality`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark quality"))
