"""Writes the back-office and customer-page pictures shown in the README:
`.venv/bin/python docs/screenshots.py` (needs Debian's chromium, as the browser tests do).

The service runs in this process on a temporary data dir, with cases made through its API and
pages printed, signed (or not), scanned and faxed by the simulator, read by its own workers.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HERE = Path(__file__).parent


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="cesja-shots-"))
    os.environ.update(CESJA_DATA_DIR=str(data / "var"), CESJA_WORKERS="0")
    os.chdir(data)

    import httpx
    import uvicorn
    from playwright.sync_api import sync_playwright

    from cesja.app import create_app
    from tests.cesja.web.seed import case_with_page

    app = create_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url, timeout=60)
    runtime = app.state.runtime
    for scenario in ("genuine-scan-300dpi", "genuine-fax-fine", "fraud-missing-signature"):
        case_with_page(api, runtime, scenario)
    in_review = case_with_page(api, runtime, "fraud-missing-signature")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        office = browser.new_page(viewport={"width": 1280, "height": 800}, locale="pl-PL")
        office.goto(url + "/sign-in")
        office.get_by_text("Logowanie kluczem API").click()
        office.get_by_label("Klucz API").fill("dev-staff")
        office.get_by_role("button", name="Zaloguj kluczem").click()
        office.wait_for_load_state("networkidle")
        office.screenshot(path=str(HERE / "office-queue.png"))
        office.goto(f"{url}/cases/{in_review['id']}")
        office.wait_for_load_state("networkidle")
        office.screenshot(path=str(HERE / "office-case.png"))
        evidence = office.locator('tr[data-check="new_registrant.signature_present"]')
        evidence.get_by_role("link", name="Powiększ skan w tym miejscu").click()
        office.locator('dialog#viewer[data-ready="true"]').wait_for()
        office.screenshot(path=str(HERE / "office-viewer.png"))
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="pl-PL")
        own_link = in_review["customer_urls"]["new_registrant"]
        phone.goto(own_link.replace("http://127.0.0.1:8000", url))
        phone.wait_for_load_state("networkidle")
        phone.screenshot(path=str(HERE / "customer-phone.png"))
        browser.close()
    server.should_exit = True
    for name in ("office-queue.png", "office-case.png", "office-viewer.png", "customer-phone.png"):
        print(f"wrote {HERE / name} ({(HERE / name).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
