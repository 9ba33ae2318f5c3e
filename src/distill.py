"""Distil teacher runs (MiniLM, an ensemble, ...) into the fast BiLSTM.

Usage:
    python src/distill.py --teacher artifacts/ens-minilm-bilstm-tfidf
    python src/distill.py --teacher artifacts/minilm --lstm-units 128 --seed 1
    python src/distill.py --help     # every flag with its default

The same command as `emotag distill`; the code is `emotag.distill.student`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("distill"))
