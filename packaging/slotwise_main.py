"""Entry point of the frozen build: the same `slotwise` command the wheel installs."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
