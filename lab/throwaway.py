"""A whole lab (PostgreSQL, Azurite, the Azure emulator) in a temporary folder, for tests: stopped and removed after."""
import contextlib
import os
import shutil
import tempfile

from lab.cli import Lab


@contextlib.contextmanager
def throwaway_lab(prefix="medimaging-lab-"):
    base = tempfile.mkdtemp(prefix=prefix)
    os.chmod(base, 0o755)  # the 'postgres' account must reach its data folder
    the_lab = Lab(os.path.join(base, "lab"))
    try:
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()
        shutil.rmtree(base, ignore_errors=True)
