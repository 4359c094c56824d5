"""Drive OHIF in Debian's chromium (Playwright, headless): open a study, wait until cornerstone reports every
viewport rendered, and count non-black pixels in the canvases, as OHIF's own end-to-end tests check rendering."""
import contextlib
import os
import time

CHROMIUM = "/usr/bin/chromium"
# Headless chromium has no GPU: WebGL through SwiftShader.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]

RENDER_STATE = """() => {
  const cs = window.cornerstone;
  if (!cs || !cs.getRenderingEngines) return {ready: false, why: 'no cornerstone yet'};
  const viewports = cs.getRenderingEngines().flatMap(engine => engine.getViewports());
  if (!viewports.length) return {ready: false, why: 'no viewport yet'};
  const statuses = viewports.map(vp => vp.viewportStatus);
  if (!statuses.every(s => s === 'rendered')) return {ready: false, why: 'viewports: ' + statuses.join(',')};
  let nonBlack = 0, total = 0;
  for (const vp of viewports) {
    const canvas = vp.getCanvas ? vp.getCanvas() : vp.canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    total += data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] > 8 || data[i + 1] > 8 || data[i + 2] > 8) nonBlack++;
    }
  }
  return {ready: nonBlack > 0, why: 'non-black pixels: ' + nonBlack, viewports: viewports.length, nonBlack, total};
}"""


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright  # pylint: disable=import-outside-toplevel
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, credentials=None):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900},
                                  http_credentials=({"username": credentials[0], "password": credentials[1]}
                                                    if credentials else None))
    page = context.new_page()
    page.messages = []
    page.on("console", lambda message: page.messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: page.messages.append(f"pageerror: {error}"))
    return page


def _network_changed(page, since):
    """Chromium aborts every load in flight when an interface appears (other podman networks on this machine)."""
    return any("ERR_NETWORK_CHANGED" in message for message in page.messages[since:])


def _poll(page, url, probe, timeout, retries=2):
    """Open url and call probe() until it returns (True, value); a load aborted by a network change is retried."""
    started = time.monotonic()
    since = len(page.messages)
    page.goto(url, wait_until="commit", timeout=timeout * 1000)
    last = None
    while time.monotonic() - started < timeout:
        try:
            done, last = probe()
        except Exception as exc:  # pylint: disable=broad-except  # navigation in progress
            done, last = False, str(exc)[:200]
        if done:
            return time.monotonic() - started, last
        if retries and _network_changed(page, since):
            retries -= 1
            since = len(page.messages)
            page.goto(url, wait_until="commit", timeout=timeout * 1000)
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout:.0f} s: {str(last)[:500]}; console: {page.messages[-10:]}")


def open_study(page, base_url, study_uid, timeout=90.0):
    """Open the study; returns (seconds to the first rendered, non-black image, the render state)."""
    def rendered():
        state = page.evaluate(RENDER_STATE)
        return state.get("ready"), state
    return _poll(page, f"{base_url}/viewer?StudyInstanceUIDs={study_uid}", rendered, timeout)


def study_list(page, base_url, patient_names, timeout=90.0):
    """Open the study list; returns its text once every patient (DICOM PN, as OHIF shows it) is on it."""
    shown = [name.replace("^", ", ") for name in patient_names]

    def listed():
        text = page.inner_text("body")
        return all(name in text for name in shown), text
    return _poll(page, base_url + "/", listed, timeout)[1]


def screenshot(page, directory, name):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.png")
    page.screenshot(path=path)
    return path
