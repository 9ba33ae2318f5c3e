"""(Re)write MODEL_CARD.md for trained runs.

Usage:
    python src/model_card.py artifacts/<run>
    python src/model_card.py --help     # every flag with its default

The same command as `emotag card`; the code is `emotag.commands.card`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("card"))
