"""The benchmark receipt (Benchmarks/receipt.json) drawn with python-escpos 3.1: the same content as Kassa's
KassaBench (40 items, VAT table, payments, native QR, optional 576-dot logo). Shared by the encoding peer
(python_escpos_bench.py) and the service peer (flask_escpos_service.py)."""
import json
from PIL import Image
from escpos.constants import QR_ECLEVEL_M

WIDTH = 48


def load(receipt_path, logo_path=None):
    """Returns receipt(printer, with_logo) for the spec at receipt_path."""
    spec = json.load(open(receipt_path, encoding="utf-8"))
    logo = None
    if logo_path:
        logo = Image.open(logo_path)
        logo.load()

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

    return receipt
