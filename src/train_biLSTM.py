"""Train the BiLSTM + attention emotion classifier and write a calibrated run directory.

Usage:
    python src/train_biLSTM.py                          # GoEmotions, 28 labels
    python src/train_biLSTM.py --taxonomy ekman --run-name ekman
    python src/train_biLSTM.py --help     # every flag with its default

The same command as `emotag train bilstm`; the code is `emotag.training.bilstm`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("train bilstm"))
