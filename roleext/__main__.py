"""Entry point of `python -m roleext`."""

import sys

from roleext.cli import main

sys.exit(main())
