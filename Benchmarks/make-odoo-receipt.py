#!/usr/bin/env python3
"""Makes Benchmarks/odoo-receipt.jpg: a receipt as Odoo's POS sends it to an IoT box (service-protocols.md §1.5): 512 px
wide, white background, 22 px text, a logo block and a QR-like pattern, JPEG at quality 92 (Chrome's default for
canvas.toDataURL("image/jpeg")). Deterministic. Run with the benchmark venv: .venv/bin/python make-odoo-receipt.py"""
from PIL import Image, ImageDraw, ImageFont

lines = ["My Company (San Francisco)", "Tel: +1 555-555-5556", "info@yourcompany.com", "http://www.example.com", "-" * 38,
         "Served by Mitchell Admin", "Order 00042-001-0007", "-" * 38]
items = [("Desk Organizer", "2 x 5.10", "10.20"), ("Large Cabinet", "1 x 320.00", "320.00"), ("Whiteboard Pen", "4 x 1.20", "4.80"),
         ("Office Chair Black", "1 x 120.50", "120.50"), ("Monitor Stand", "1 x 37.00", "37.00"), ("LED Lamp", "3 x 12.90", "38.70"),
         ("Magnetic Board", "1 x 49.00", "49.00"), ("Corner Desk Right Sit", "1 x 147.00", "147.00"), ("Drawer Black", "2 x 25.00", "50.00"),
         ("Cable Management Box", "1 x 11.00", "11.00")]
height = 1180
image = Image.new("RGB", (512, height), "white")
draw = ImageDraw.Draw(image)
font = ImageFont.load_default(size=22)
big = ImageFont.load_default(size=34)
draw.rectangle([176, 16, 336, 96], fill=(40, 40, 40))
draw.text((206, 36), "LOGO", font=big, fill="white")
y = 112
for line in lines:
    draw.text((256, y), line, font=font, fill="black", anchor="ma")
    y += 30
for name, quantity, amount in items:
    draw.text((12, y), name, font=font, fill="black")
    draw.text((500, y), amount, font=font, fill="black", anchor="ra")
    y += 28
    draw.text((36, y), quantity, font=font, fill=(90, 90, 90))
    y += 32
draw.text((12, y), "TOTAL", font=big, fill="black")
draw.text((500, y), "$ 788.20", font=big, fill="black", anchor="ra")
y += 56
draw.text((12, y), "Cash", font=font, fill="black")
draw.text((500, y), "800.00", font=font, fill="black", anchor="ra")
y += 30
draw.text((12, y), "CHANGE", font=font, fill="black")
draw.text((500, y), "11.80", font=font, fill="black", anchor="ra")
y += 44
for row in range(25):
    for column in range(25):
        if (row * 7 + column * 3 + row * column) % 5 < 2 or row in (0, 24) or column in (0, 24):
            draw.rectangle([181 + column * 6, y + row * 6, 186 + column * 6, y + row * 6 + 5], fill="black")
y += 170
draw.text((256, y), "Powered by Odoo", font=font, fill=(60, 60, 60), anchor="ma")
image.save("odoo-receipt.jpg", quality=92)
print(image.size)
