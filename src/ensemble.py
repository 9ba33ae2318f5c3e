"""Average the probabilities of trained runs into one calibrated run.

Usage:
    python src/ensemble.py --models artifacts/minilm artifacts/<bilstm run> --tune-weights
    python src/ensemble.py --help     # every flag with its default

The same command as `emotag ensemble`; the code is `emotag.serving.ensemble`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("ensemble"))
