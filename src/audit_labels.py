"""Label-quality audit: rank the training examples whose labels look wrong.

Usage:
    python src/audit_labels.py
    python src/audit_labels.py --help     # every flag with its default

The same command as `emotag audit`; the code is `emotag.audit.audit`.
"""

import sys

from emotag.cli import run_script

if __name__ == "__main__":
    sys.exit(run_script("audit"))
