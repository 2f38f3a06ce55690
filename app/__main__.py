"""`python -m app` is the `slotwise` command."""

import sys

from app.cli import main

sys.exit(main())
