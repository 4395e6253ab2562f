"""`python bench/bench.py [OPTIONS]`: the benchmark, as `python -m bench` runs it.

Kept so that the command of bench/README.md and of older notes still works: run as a file, the
directory holding the `bench` package is not on the import path, so it is put there first.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.cli import main

    sys.exit(main())
