#!/usr/bin/env python3
"""Derive Kassa printer profiles (Hardware/profiles/*.json) from escpos-printer-db.

Usage: python3 tools/gen_profiles.py ../shared/data/escpos-printer-db/capabilities.json
The generic-58mm / generic-80mm profiles are written by hand and are not touched here.
"""
import json, os, sys

src = sys.argv[1]
outdir = os.path.join(os.path.dirname(__file__), "..", "Hardware", "profiles")
db = json.load(open(src, encoding="utf-8"))
known = set()
tables_file = os.path.join(os.path.dirname(__file__), "..", "Sources", "ESCPOS", "Generated", "CodePageTables.swift")
for line in open(tables_file, encoding="utf-8"):
    line = line.strip()
    if line.startswith('"') and '":' in line:
        known.add(line.split('"')[1])

def pixels_for(media):
    w = media.get("width", {})
    px = w.get("pixels")
    if isinstance(px, int):
        return px, False
    mm = w.get("mm")
    if isinstance(mm, (int, float)) and mm < 70:
        return 384, True
    return 576, True

count = 0
for key, p in sorted(db["profiles"].items()):
    media = p.get("media", {})
    dots, guessed = pixels_for(media)
    mm = media.get("width", {}).get("mm")
    dpi = media.get("dpi")
    fonts = []
    for idx in sorted(p.get("fonts", {}), key=int):
        f = p["fonts"][idx]
        cols = f.get("columns")
        if not isinstance(cols, int) or cols <= 0:
            continue
        fonts.append({"name": f.get("name", "Font %s" % idx), "columns": cols})
    if not fonts:
        fonts = [{"name": "Font A", "columns": 48 if dots >= 512 else 32}]
    pages = {}
    for slot, enc in sorted(p.get("codePages", {}).items(), key=lambda kv: int(kv[0])):
        if enc in known:
            pages[slot] = enc
    feats = p.get("features", {})
    prof = {
        "id": key,
        "name": p.get("name", key),
        "vendor": p.get("vendor", "Unknown"),
        "notes": (p.get("notes") or "").strip(),
        "paper": {
            "widthMillimetres": mm if isinstance(mm, (int, float)) else (58 if dots < 512 else 80),
            "dots": dots,
            "dpi": dpi if isinstance(dpi, int) else 203,
        },
        "fonts": fonts,
        "codePages": pages,
        "features": {
            "nativeQR": bool(feats.get("qrCode")),
            "fullCut": bool(feats.get("paperFullCut")),
            "partialCut": bool(feats.get("paperPartCut")),
            "rasterImage": bool(feats.get("bitImageRaster")),
            "graphics": bool(feats.get("graphics")),
            "drawerPulse": bool(feats.get("pulseStandard")),
            "drawerPulseBel": bool(feats.get("pulseBel")),
            "barcodeA": bool(feats.get("barcodeA")),
            "barcodeB": bool(feats.get("barcodeB")),
            "starCommands": bool(feats.get("starCommands")),
            "beeper": False,
            # GS ( D (disable real-time commands) is an Epson TM command; assumed where the model has GS ( L.
            "disableRealtimeCommands": p.get("vendor") == "Epson" and bool(feats.get("graphics")),
            # NV graphics (GS ( L / GS 8 L fn 67, 69) came with the same Epson generation as GS ( L graphics.
            "storedLogo": p.get("vendor") == "Epson" and bool(feats.get("graphics")),
        },
        "source": "escpos-printer-db" + (" (dot width inferred from paper width)" if guessed else ""),
    }
    with open(os.path.join(outdir, key + ".json"), "w", encoding="utf-8") as f:
        json.dump(prof, f, indent=2, ensure_ascii=False)
        f.write("\n")
    count += 1
print("wrote", count, "profiles")
