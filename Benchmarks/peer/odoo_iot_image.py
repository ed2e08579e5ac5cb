#!/usr/bin/env python3
"""The Odoo IoT box's receipt-image pipeline, as its printer driver runs it (service-protocols.md §1.5), written here
with Pillow for the benchmark: base64 decode, Image.open, convert("L"), ImageOps.invert, convert("1") (Pillow's
Floyd-Steinberg), then GS v 0 slices of at most 255 rows and GS V A 10. Measured as many times as fit in SECONDS.

    odoo_iot_image.py RECEIPT.jpg SECONDS OUT_BYTES.bin     -> one JSON line of figures"""
import base64
import io
import json
import sys
import time

from PIL import Image, ImageOps


def escpos(b64: str) -> bytes:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image = ImageOps.invert(image.convert("L")).convert("1")
    width, height = image.size
    row = (width + 7) // 8
    data = image.tobytes()
    out = bytearray()
    for top in range(0, height, 255):
        rows = min(255, height - top)
        out += bytes([0x1D, 0x76, 0x30, 0x00, row & 0xFF, row >> 8, rows & 0xFF, rows >> 8])
        out += data[top * row:(top + rows) * row]
    out += bytes([0x1D, 0x56, 0x41, 0x0A])
    return bytes(out)


def main() -> int:
    b64 = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
    seconds = float(sys.argv[2])
    count, fastest, start = 0, float("inf"), time.perf_counter()
    while True:
        one = time.perf_counter()
        job = escpos(b64)
        fastest = min(fastest, time.perf_counter() - one)
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    open(sys.argv[3], "wb").write(job)
    print(json.dumps({"receipts": count, "receiptsPerSecond": count / elapsed, "millisecondsPerReceipt": elapsed / count * 1000,
                      "fastestMilliseconds": fastest * 1000, "bytes": len(job), "pillow": Image.__version__}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
