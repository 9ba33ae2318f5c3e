"""Test macro-F1 by training size (1k, 3k, 10k, full GoEmotions train) for the BiLSTM
(closed and open vocabulary), TF-IDF + LR and MiniLM -> benchmarks/results/learning_curve.md.

Usage:
    python benchmarks/learning_curve.py --help     # every flag with its default

The same command as `emotag benchmark learning-curve`; the code is
`emotag.benchmarks.learning_curve`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("benchmark learning-curve"))
