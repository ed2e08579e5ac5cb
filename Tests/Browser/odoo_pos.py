#!/usr/bin/env python3
"""An Odoo-like POS page in a real browser (Debian's chromium, headless, Selenium with chromium-driver) calling
`kassa serve`'s drop-in endpoints from another origin, as Odoo's front end does. Run by CompatServeTests (Swift):

    odoo_pos.py KASSA_URL PAGE_PORT

The page is served from http://127.0.0.1:PAGE_PORT (an origin the service allows). It makes the same calls as Odoo:
`fetch` of /hw_proxy/hello; JSON-RPC XHRs (Content-Type application/json, so preflighted) to handshake, status_json
and default_printer_action with a JPEG made by a canvas's toDataURL("image/jpeg"); and a header-less `fetch` POST of an
ePOS-Print document (a CORS "simple" request). Each answer must be readable by the page, which it is only when the
browser accepted the CORS headers. Prints one JSON line with what the page saw; exit 0 when every call succeeded."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>POS</title></head><body><canvas id="c" width="512" height="160"></canvas>
<script>
const KASSA = %(kassa)s;
window.results = {};
function rpc(path, params) {
  // Odoo's rpc(): an XHR with a JSON-RPC body and Content-Type application/json.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", KASSA + path);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.onload = () => { try { resolve(JSON.parse(xhr.responseText)); } catch (e) { reject("not JSON: " + xhr.responseText); } };
    xhr.onerror = () => reject("XHR failed (CORS refused or no answer)");
    xhr.send(JSON.stringify({id: Math.floor(Math.random() * 1000), jsonrpc: "2.0", method: "call", params: params}));
  });
}
async function run() {
  try {
    const hello = await fetch(KASSA + "/hw_proxy/hello");
    window.results.hello = hello.ok ? await hello.text() : "HTTP " + hello.status;
    window.results.handshake = (await rpc("/hw_proxy/handshake", {})).result;
    window.results.status = (await rpc("/hw_proxy/status_json", {})).result.printer.status;
    const canvas = document.getElementById("c");
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, 512, 160);
    g.fillStyle = "#000"; g.font = "bold 40px sans-serif"; g.fillText("ODOO RECEIPT", 40, 90);
    g.fillRect(0, 130, 512, 20);
    const jpeg = canvas.toDataURL("image/jpeg").replace("data:image/jpeg;base64,", "");
    window.results.print = (await rpc("/hw_proxy/default_printer_action", {data: {action: "print_receipt", receipt: jpeg}})).result;
    const xml = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><epos-print xmlns="http://www.epson-pos.com/schemas/2011/03/epos-print"><text>EPOS FROM THE BROWSER&#10;</text><cut type="feed"/></epos-print></s:Body></s:Envelope>';
    const answer = await fetch(KASSA + "/cgi-bin/epos/service.cgi?devid=local_printer", {method: "POST", body: xml});
    const doc = new DOMParser().parseFromString(await answer.text(), "text/xml");
    window.results.epos = doc.querySelector("response").getAttribute("success");
  } catch (error) {
    window.results.error = String(error);
  }
  window.done = true;
}
run();
</script></body></html>"""


def main() -> int:
    kassa, page_port = sys.argv[1], int(sys.argv[2])
    body = (PAGE % {"kassa": json.dumps(kassa)}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", page_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(f"http://127.0.0.1:{page_port}/")
        WebDriverWait(driver, 40).until(lambda d: d.execute_script("return window.done === true"))
        results = driver.execute_script("return window.results")
    finally:
        driver.quit()
        httpd.shutdown()
    print(json.dumps(results, sort_keys=True))
    ok = (results.get("hello") == "ping" and results.get("handshake") is True and results.get("status") == "connected"
          and results.get("print") is True and results.get("epos") == "true" and "error" not in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
