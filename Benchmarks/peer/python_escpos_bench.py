#!/usr/bin/env python3
"""The peer benchmark: python-escpos 3.1 encodes the benchmark receipt into its Dummy printer.

Same content as Benchmarks/Sources/KassaBench (40 items, VAT table, payments, native QR, 576-dot logo).
Prints one JSON object: receipts per second with and without the logo, bytes per receipt, peak RSS.
Usage: python_escpos_bench.py RECEIPT.json LOGO.png SECONDS
"""
import json, logging, resource, sys, time, warnings
from PIL import Image
from escpos.printer import Dummy
from escpos.constants import QR_ECLEVEL_M

logging.disable(logging.WARNING)  # python-escpos warns on every QR about the profile's missing pixel width
warnings.simplefilter("ignore")
spec = json.load(open(sys.argv[1], encoding="utf-8"))
logo = Image.open(sys.argv[2])
logo.load()
seconds = float(sys.argv[3])
WIDTH = 48

def money(minor):
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    whole = f"{minor // 100:,}".replace(",", ".")
    return f"{sign}{whole},{minor % 100:02d}"

def columns(left, right):
    return left + " " * (WIDTH - len(left) - len(right)) + right

items = []
for i in range(40):
    name = spec["itemNames"][i % 20] + (" (2)" if i >= 20 else "")
    qty = 1 + i % 3
    unit = 45 + (i * 37) % 900
    items.append((name, qty, unit, qty * unit, "A" if i % 2 == 0 else "B"))
item_lines = []
for name, qty, unit, amount, vat in items:
    item_lines.append(columns(name, money(amount) + " " + vat))
    if qty != 1:
        item_lines.append(f"  {qty} x {money(unit)}")
total = sum(i[3] for i in items)
gross = {"A": sum(i[3] for i in items if i[4] == "A"), "B": sum(i[3] for i in items if i[4] == "B")}
rates = {"A": 20, "B": 10}
def row(cells):
    first, rest = 9, (WIDTH - 9) // 3
    return cells[0][:first].ljust(first) + "".join(c[:rest - 1].rjust(rest) for c in cells[1:])
vat_lines = [row(["VAT", "Net", "Tax", "Gross"])]
for key in ("A", "B"):
    g = gross[key]
    net = g * 100 // (100 + rates[key])
    vat_lines.append(row([f"{key} {rates[key]}%", money(net), money(g - net), money(g)]))
paid = (total // 1000 + 1) * 1000
payment_lines = [columns("Bar", money(paid)), columns("Rückgeld", money(total - paid))]

def receipt(p, with_logo):
    if with_logo:
        p.image(logo)
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln(spec["header"][0])
    p.set(align="center", bold=False, normal_textsize=True)
    for line in spec["header"][1:]:
        p.textln(line)
    p.set(align="left")
    p.textln("-" * WIDTH)
    for line in item_lines:
        p.textln(line)
    p.textln("-" * WIDTH)
    p.set(bold=True, double_height=True)
    p.textln(columns("SUMME", money(total) + " €"))
    p.set(bold=False, normal_textsize=True)
    for line in payment_lines:
        p.textln(line)
    p.textln("-" * WIDTH)
    for line in vat_lines:
        p.textln(line)
    p.set(align="center")
    p.textln("Danke für Ihren Einkauf!")
    p.qr(spec["qr"], ec=QR_ECLEVEL_M, size=4, native=True)
    p.cut()

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
