"""Score a large text file with Apache Beam RunInference.

Usage:
    python src/batch_predict.py --model artifacts/<run> --input texts.txt --output tags.jsonl
    python src/batch_predict.py --help     # every flag with its default

The same command as `emotag batch`; the code is `emotag.serving.batch`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("batch"))
