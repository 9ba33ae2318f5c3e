"""Fine-tune a pretrained BERT-family encoder and write a calibrated run directory.

Usage:
    python src/train_bert.py --run-name minilm --epochs 2
    python src/train_bert.py --help     # every flag with its default

The same command as `emotag train bert`; the code is `emotag.training.bert`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("train bert"))
