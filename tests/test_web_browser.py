"""The coach's web page in a real browser: `cramp app` on a free port, Debian's chromium headless
(through chromium-driver), one submit, the headline and the plots, a screenshot in results/.

Skipped when chromium or its driver is not installed here; `.ci/run` installs both."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "results" / "web" / "page.png"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="chromium and chromium-driver are not installed (apt-get install -y chromium "
    "chromium-driver; .ci/run does it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"  # a file, not a pipe nobody empties
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "cramp.cli", "app", "--port",
                                   str(port)], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"cramp app did not answer on {url}: {log.read_text()}")
            time.sleep(0.3)
    yield url
    server.terminate()  # `cramp app` became the server (exec), so this stops it
    server.wait(timeout=30)
    assert "http://127.0.0.1:" in log.read_text()  # it printed the URL


def test_a_coach_submits_the_form_and_sees_the_answer(served):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        NoSuchElementException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1400,1500"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    try:
        browser.get(served)
        submit = (By.XPATH, "//button[.//p[contains(., 'Compare the plans')]]")

        def submitted(driver) -> bool:
            # while the page is still laying itself out another element may sit over the
            # button for a moment ("element click intercepted"): a user would click again
            try:
                driver.find_element(*submit).click()
            except (ElementClickInterceptedException, NoSuchElementException,
                    StaleElementReferenceException):
                return False
            return True

        WebDriverWait(browser, 60).until(ec.element_to_be_clickable(submit))
        WebDriverWait(browser, 30).until(submitted)
        headline = WebDriverWait(browser, 120).until(ec.presence_of_element_located(
            (By.XPATH, "//h2[contains(., 'Risk of a cramp with the plan as written')]")))
        assert headline.text.startswith("Risk of a cramp with the plan as written: ")
        assert headline.text.endswith("%")

        def plots_drawn(driver) -> bool:  # three PNGs decoded by the browser, not just tags
            return driver.execute_script(
                "const imgs = [...document.querySelectorAll('[data-testid=stImage] img')];"
                "return imgs.length >= 3 && imgs.every(i => i.complete && i.naturalWidth > 300);")

        WebDriverWait(browser, 60).until(plots_drawn)
        assert "As planned, the chance of a cramp is" in browser.page_source
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
        height = browser.execute_script(
            "const m = document.querySelector('[data-testid=stMain]');"
            "return m ? m.scrollHeight : document.body.scrollHeight;")
        browser.set_window_size(1400, max(int(height), 1500))  # the whole page in one picture
        time.sleep(1.0)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))
    finally:
        browser.quit()
