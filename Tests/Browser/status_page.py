#!/usr/bin/env python3
"""The status page of `kassa serve` in a real browser: Debian's chromium, headless, driven by Selenium through
chromium-driver. Run by ServeTests (Swift) against a live service:

    status_page.py URL TOKEN

The token needs the scopes print, drawer and admin. The script loads the page, connects with the token, sees the
virtual printer ready, clicks its test print, sees the job reach `done` with a preview, then switches the virtual
printer to paper out through the API (not the page) and sees the new status arrive over server-sent events without
a reload. Exit 0 when every step passed; 1 with the step that failed."""
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    step = "load the page"
    try:
        wait = WebDriverWait(driver, 15)
        driver.get(url + "/")
        wait.until(lambda d: d.find_element(By.ID, "health").text.startswith("kassa "))

        step = "connect with the token and see the virtual printer ready"
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.ID, "connect").click()
        status = 'tr[data-name="virtual"] td[data-status]'
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, status).get_attribute("data-status") == "ready")

        step = "click the test print and see the job reach done, with the virtual printer's preview"
        driver.find_element(By.CSS_SELECTOR, 'tr[data-name="virtual"] button.test-print').click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs td[data-state="done"]'))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs img[alt^="preview of"]'))
        image = driver.find_element(By.CSS_SELECTOR, '#jobs img[alt^="preview of"]')
        wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalHeight > 0", image))

        step = "see paper out arrive without a reload"
        marker = driver.execute_script("window.kassaNotReloaded = true; return window.kassaNotReloaded")
        request = urllib.request.Request(url + "/v1/devices/virtual/simulate", method="POST", data=json.dumps({"paper": "out"}).encode(),
                                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, status).get_attribute("data-status") == "problem")
        text = driver.find_element(By.CSS_SELECTOR, status).text
        if "paper" not in text or not marker or not driver.execute_script("return window.kassaNotReloaded === true"):
            raise AssertionError(f"the status cell says {text!r}")

        step = "see a job held while the paper is out, in the queue line"
        driver.find_element(By.CSS_SELECTOR, 'tr[data-name="virtual"] button.test-print').click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs td[data-state="held"]'))
        wait.until(lambda d: "held" in d.find_element(By.ID, "queue").text)
        print("status page: every step passed")
        return 0
    except (TimeoutException, AssertionError, Exception) as error:  # noqa: BLE001 - the step is the report
        print(f"status page: failed to {step}: {type(error).__name__}: {error}", file=sys.stderr)
        print(driver.find_element(By.TAG_NAME, "body").text[:2000], file=sys.stderr)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
