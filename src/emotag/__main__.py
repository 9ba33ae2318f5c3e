"""`python -m emotag ...` is the `emotag` command."""

import sys

from emotag.cli import main

sys.exit(main())
