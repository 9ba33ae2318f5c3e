"""`emotag batch` over a large synthetic file -> benchmarks/results/batch_scale.md.

Usage:
    python benchmarks/batch_scale.py --help     # every flag with its default

The same command as `emotag benchmark batch-scale`; the code is
`emotag.benchmarks.batch_scale`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark batch-scale"))
