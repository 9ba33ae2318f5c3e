"""Serve the emotion tagger as a Gradio web app.

Usage:
    python src/app.py --model artifacts/<run>
    python src/app.py --help     # every flag with its default

The same command as `emotag app`; the code is `emotag.commands.app`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("app"))
