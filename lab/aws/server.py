"""`python -m lab.aws.server -H 127.0.0.1 -p PORT`: moto's server with the lab's gap fixes (lab/aws/gaps.py)."""
import sys

from moto.server import main

from lab.aws import gaps

if __name__ == "__main__":
    gaps.apply()
    sys.exit(main(sys.argv[1:]))
