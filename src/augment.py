"""Augment rare classes with new training texts, or have an LLM second-guess labels.

Usage:
    python src/augment.py --output augmented.tsv
    python src/augment.py --help     # every flag with its default

The same command as `emotag augment`; the code is `emotag.augment.generate`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("augment"))
