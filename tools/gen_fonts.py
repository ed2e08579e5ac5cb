#!/usr/bin/env python3
"""Subset Terminus Font BDF files (converted from Debian's xfonts-terminus PCF with pcf2bdf) to the
characters of the code pages Kassa supports, renamed as the OFL requires.

Usage: python3 tools/gen_fonts.py ter-u24n.bdf ter-u16n.bdf
"""
import os, re, sys

root = os.path.join(os.path.dirname(__file__), "..")
tables = open(os.path.join(root, "Sources/ESCPOS/Generated/CodePageTables.swift"), encoding="utf-8").read()
wanted = set(range(0x20, 0x7F)) | {0xFFFD, 0x25A1}
for hexv in re.findall(r"\\u\{([0-9A-F]+)\}", tables):
    wanted.add(int(hexv, 16))

def subset(path, out, label):
    text = open(path, encoding="latin-1").read()
    head, _, rest = text.partition("CHARS ")
    glyphs = re.findall(r"STARTCHAR.*?ENDCHAR\n", rest, re.S)
    keep = [g for g in glyphs if int(re.search(r"ENCODING (\d+)", g).group(1)) in wanted]
    head = re.sub(r"FONT -xos4-Terminus-", "FONT -kassa-KassaReceiptMono-", head)
    head = head.replace('FAMILY_NAME "Terminus"', 'FAMILY_NAME "Kassa Receipt Mono"').replace('FOUNDRY "xos4"', 'FOUNDRY "kassa"')
    head = head.replace("STARTFONT 2.1\n", "STARTFONT 2.1\nCOMMENT Kassa Receipt Mono %s: a subset of Terminus Font 4.48 (c) Dimitar Toshkov Zhekov, SIL OFL 1.1.\n" % label, 1)
    with open(out, "w", encoding="ascii") as f:
        f.write(head + "CHARS %d\n" % len(keep) + "".join(keep) + "ENDFONT\n")
    print(out, len(keep), "glyphs")

subset(sys.argv[1], os.path.join(root, "Hardware/fonts/font-a-12x24.bdf"), "12x24 (font A)")
subset(sys.argv[2], os.path.join(root, "Hardware/fonts/font-b-8x16.bdf"), "8x16 (font B)")
