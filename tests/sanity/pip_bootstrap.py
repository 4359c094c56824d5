"""Stand-in for the get-pip.py bootstrap that ansible-test downloads from a host this workplace cannot reach.

ansible-test runs it in an empty venv with pip's own command line (options + 'pip==X.Y'). We seed pip from the
interpreter's bundled ensurepip, then let that pip install exactly what was asked for from PyPI.
"""
import ensurepip
import os
import subprocess
import sys

# Options only get-pip.py understands.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

# ensurepip points PIP_CONFIG_FILE at /dev/null in our environment; the real pip run needs the host's pip config back.
saved_environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(saved_environment)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + arguments))
