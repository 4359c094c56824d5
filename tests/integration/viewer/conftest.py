"""One world for the viewer tests (lab/viewer/world.py): a hospital Orthanc, a DICOM service on a throwaway Azure
emulator, four viewers deployed by the ohif_viewer role in one run (plus the idempotence run), one nginx, and one
chromium. Screenshots go to tests/output/viewer (not committed).

Module scope, not package: this folder has no __init__.py, so pytest would keep a "package" fixture open to the
end of the whole run, and a Playwright driver left open there breaks every later sync_playwright() with
"using Playwright Sync API inside the asyncio loop" (the fresh-clone CI run failed on that in viewer_container)."""
import pytest

from lab.viewer import browser
from lab.viewer.world import viewer_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with viewer_world(str(tmp_path_factory.mktemp("viewer"))) as the_world:
        yield the_world


@pytest.fixture(scope="module")
def chromium():
    with browser.chromium() as the_browser:
        yield the_browser
