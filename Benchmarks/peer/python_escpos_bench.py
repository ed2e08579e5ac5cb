#!/usr/bin/env python3
"""The peer benchmark: python-escpos 3.1 encodes the benchmark receipt into its Dummy printer.

Same content as Benchmarks/Sources/KassaBench (40 items, VAT table, payments, native QR, 576-dot logo).
Prints one JSON object: receipts per second with and without the logo, bytes per receipt, peak RSS.
Usage: python_escpos_bench.py RECEIPT.json LOGO.png SECONDS
"""
import json, logging, resource, sys, time, warnings
from PIL import Image
from escpos.printer import Dummy

logging.disable(logging.WARNING)  # python-escpos warns on every QR about the profile's missing pixel width
warnings.simplefilter("ignore")
from escpos_receipt import load

seconds = float(sys.argv[3])
receipt = load(sys.argv[1], sys.argv[2])

def measure(with_logo):
    printer = Dummy(profile="TM-T20II")  # 576 dots, native QR: the same printer class as Kassa's side
    count, size = 0, 0
    start = time.perf_counter()
    while True:
        printer.clear()
        receipt(printer, with_logo)
        size = len(printer.output)
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed, size

with_rate, with_bytes = measure(True)
text_rate, text_bytes = measure(False)
print(json.dumps({
    "implementation": "python-escpos 3.1",
    "receiptsPerSecondWithLogo": round(with_rate, 1),
    "receiptsPerSecondWithoutLogo": round(text_rate, 1),
    "bytesWithLogo": with_bytes,
    "bytesWithoutLogo": text_bytes,
    "peakRSSKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
