"""`python -m bench [OPTIONS]`: the benchmark (bench/README.md)."""

import sys

from bench.cli import main

sys.exit(main())
