"""``python -m capacity``: the same as the ``capacity`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
