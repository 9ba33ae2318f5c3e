"""Tag texts with a trained run.

Usage:
    python src/inference.py --model artifacts/<run> "I love this!" "What a mess."
    cat comments.txt | python src/inference.py --model artifacts/<run> --json
    python src/inference.py --help     # every flag with its default

The same command as `emotag predict`; the code is `emotag.commands.predict`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("predict"))
