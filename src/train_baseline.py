"""Train the TF-IDF + logistic-regression baseline and write a calibrated run directory.

Usage:
    python src/train_baseline.py --run-name tfidf-lr
    python src/train_baseline.py --help     # every flag with its default

The same command as `emotag train baseline`; the code is `emotag.training.baseline`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("train baseline"))
