"""`python -m flowsaver.cli ...`: the same as the `flowsaver` console script."""
import sys

from flowsaver.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
