"""Score a trained run on a split of its dataset with its calibrated thresholds.

Usage:
    python src/evaluate.py --model artifacts/<run> --split test
    python src/evaluate.py --help     # every flag with its default

The same command as `emotag evaluate`; the code is `emotag.commands.evaluate`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("evaluate"))
