"""`python -m flowsaver ...`: the same as the `flowsaver` command."""
import sys

from flowsaver.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
