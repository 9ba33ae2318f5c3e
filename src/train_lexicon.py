"""Score a data set with the NRC Emotion Lexicon (VADER for sentiment) and write a run.

Usage:
    python src/train_lexicon.py --taxonomy ekman
    python src/train_lexicon.py --help     # every flag with its default

The same command as `emotag train lexicon`; the code is `emotag.training.lexicon`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("train lexicon"))
