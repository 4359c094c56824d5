"""python -m lab up|down|status|env: the local hybrid lab's launcher (see lab/README.md)."""
import sys

from lab.cli import main

sys.exit(main())
