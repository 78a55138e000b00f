"""``python -m anygram ...`` runs the command line (same as the ``anygram`` script)."""

import sys

from anygram.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
