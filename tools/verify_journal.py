#!/usr/bin/env python3
"""Independent verifier for a Kassa journal export (Docs/journal-format.md).

Usage: verify_journal.py EXPORT_DIR        (the folder `kassa journal export --to` wrote)

Checks, without Kassa: every entry's hash (SHA-256 of its signed data), the chain of previous hashes from the genesis
value, the sequence numbers, each fiscal module's ES256 signature and rising signature counter, the canonical form of
each body, and that the journal ends at the head the terminal recorded. Recomputes, from the signed facts alone, the grand
totals through every receipt, every shift's running totals (checked against the state each entry signed, whose digest
covers them), the figures each Z signed, and the terminal's counters and the module anchors in the header. Needs `cryptography` (pip or python3-cryptography).
Exit 0: the journal is intact. Exit 1: the first bad entry is named. Exit 2: the export cannot be read.
"""
import base64
import hashlib
import json
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

FORMAT = "KASSA-JOURNAL-1"
FAILURE_KIND = "fiscal_module_failure"


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rounded_division(numerator, denominator):
    """Kassa's rounding of a quotient: half away from zero."""
    half = denominator // 2
    return (numerator + half) // denominator if numerator >= 0 else -((-numerator + half) // denominator)


def totals_digest(totals):
    """SHA-256 over a shift's running totals, `key TAB count TAB amount LF` in the keys' UTF-8 order; 16 bytes in hex."""
    digest = hashlib.sha256()
    for key in sorted(totals, key=lambda k: k.encode("utf-8")):
        count, amount = totals[key]
        digest.update(f"{key}\t{count}\t{amount}\n".encode("utf-8"))
    return digest.hexdigest()[:32]


def parse_state(text):
    """`sales returns digest shift` (Docs/journal-format.md, "The signed state"); None when malformed."""
    parts = text.split(" ", 3)
    if len(parts) != 4 or not all(re.fullmatch(r"-?(0|[1-9][0-9]*)", p, re.ASCII) and p != "-0" for p in parts[:2]):
        return None
    sales, returns, digest, shift = int(parts[0]), int(parts[1]), parts[2], parts[3]
    if (digest == "-") != (shift == "-"):
        return None
    if digest != "-" and (len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest)):
        return None
    return sales, returns, None if digest == "-" else digest, None if shift == "-" else shift


def fail(seq, kind, detail):
    print(f"FAIL entry {seq}: {kind}: {detail}")
    sys.exit(1)


def main(folder):
    try:
        # Entries are separated by "\n" alone: a name may hold U+2028, U+0085 or other characters that str.splitlines()
        # would take for line ends, and newline="" keeps Python from translating anything.
        with open(f"{folder}/journal.jsonl", encoding="utf-8", newline="") as handle:
            lines = handle.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        header = json.loads(lines[0])
    except (OSError, ValueError, IndexError) as error:
        print(f"cannot read the export in {folder}: {error}")
        return 2
    if header.get("format") != FORMAT:
        print(f"not a {FORMAT} export: {header.get('format')!r}")
        return 2
    terminal = header["terminal"]
    keys = {}
    for module in header["modules"]:
        if module["algorithm"] != "ES256":
            print(f"module {module['serial']} uses {module['algorithm']}, which this verifier does not know")
            return 2
        raw = base64.b64decode(module["public_key_x963"])
        keys[module["serial"]] = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    genesis = hashlib.sha256(f"{FORMAT}\n{terminal}".encode()).hexdigest()
    if header["genesis"] != genesis:
        fail(0, "modified", "the header's genesis value is not SHA-256 of the format and terminal")
    if header.get("unverified"):
        print(f"NOTE: Kassa exported this journal although it did not verify: {header['unverified']}")
    previous, last_seq, counters = genesis, 0, {}
    # Recomputed from the signed facts: the grand totals through every receipt, and each shift's running totals.
    grand = None
    shifts = {}
    shift_bodies, movement_bodies = {}, {}
    state_shifts = set()
    vat_rounding = "line"

    def add(session, key, count, amount):
        old_count, old_amount = shifts.setdefault(session, {}).get(key, (0, 0))
        shifts[session][key] = (old_count + count, old_amount + amount)

    def add_receipt(kind, body):
        """What a receipt adds to its shift's running totals, as Kassa adds it."""
        session = body["session"]
        if kind == "training":
            add(session, "training", 1, body["total"])
            return
        lines = body["lines"]
        positive = sum(line["amount"] for line in lines if line["amount"] > 0)
        negative = -sum(line["amount"] for line in lines if line["amount"] < 0)
        if positive > 0:
            add(session, "sales", 1, positive)
            units = [(line, line["quantity_milli"] // 1000 if line["quantity_milli"] % 1000 == 0 else 1) for line in lines if line["amount"] > 0]
            goods = sum(u for line, u in units if not line["service"])
            services = sum(u for line, u in units if line["service"])
            if goods > 0:
                add(session, "goods", goods, 0)
            if services > 0:
                add(session, "services", services, 0)
        if negative > 0:
            add(session, "returns", 1, negative)
        if body["discount_total"] != 0:
            add(session, "discounts", 1, body["discount_total"])
        overrides = [line for line in lines if line["price_override_reason"] is not None]
        if overrides:
            add(session, "price_overrides", len(overrides),
                sum(rounded_division(line["quantity_milli"] * (line["list_price"] - line["unit_price"]), 1000) for line in overrides))
        gross, tax = {}, {}
        for line in lines:
            gross[line["vat_rate_bp"]] = gross.get(line["vat_rate_bp"], 0) + line["amount"]
            tax[line["vat_rate_bp"]] = tax.get(line["vat_rate_bp"], 0) + line["vat"]
        for rate in sorted(gross):
            add(session, f"vat_gross:{rate}", 1, gross[rate])
            vat = rounded_division(gross[rate] * rate, 10000 + rate) if vat_rounding == "receipt" and rate >= 0 else tax[rate]
            add(session, f"vat_tax:{rate}", 1, vat)
        for payment in body["payments"]:
            add(session, f"method:{payment['method']}", 1, payment["amount"])
        if body["change"] > 0:
            add(session, "change", 1, body["change"])
        add(session, f"cashier:{body['cashier']}", 1, body["total"])
        add(session, "receipts", 1, body["total"])

    for line in lines[1:]:
        entry = json.loads(line)
        seq = entry["seq"]
        if seq != last_seq + 1:
            fail(seq, "missing", f"entries {last_seq + 1}..{seq - 1} are missing")
        if entry["terminal"] != terminal:
            fail(seq, "modified", f"entry of terminal {entry['terminal']} in the journal of {terminal}")
        state = entry.get("state")
        message = "\n".join([FORMAT, terminal, entry["time"], entry["kind"], entry["ref"], entry["module"], entry["prev"], entry["body"]]
                            + ([state] if state is not None else []))
        signed = f"{message}\n{entry['counter']}".encode("utf-8")
        if hashlib.sha256(signed).hexdigest() != entry["hash"]:
            fail(seq, "modified", "its content no longer gives its hash")
        if entry["prev"] != previous:
            fail(seq, "missing or reordered", "it does not link to the entry before it")
        try:
            body = json.loads(entry["body"])
        except ValueError:
            fail(seq, "modified", "the body is not JSON")
        if canonical(body) != entry["body"]:
            fail(seq, "modified", "the body is not in canonical form")
        signature = base64.b64decode(entry["signature"])
        if not signature:
            if entry["kind"] != FAILURE_KIND:
                fail(seq, "bad signature", "unsigned, and not a recorded module failure")
        else:
            key = keys.get(entry["module"])
            if key is None:
                fail(seq, "bad signature", f"module {entry['module']} is not in the export")
            if len(signature) != 64:
                fail(seq, "bad signature", "an ES256 signature is 64 bytes (r || s)")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            try:
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                fail(seq, "bad signature", f"the signature of {entry['module']} does not verify")
            if entry["counter"] <= counters.get(entry["module"], 0):
                fail(seq, "reordered", f"signature counter {entry['counter']} of {entry['module']} does not rise")
            counters[entry["module"]] = entry["counter"]
        kind = entry["kind"]
        if kind in ("receipt", "refund", "training"):
            add_receipt(kind, body)
        if kind in ("receipt", "refund"):
            sales = sum(line["amount"] for line in body["lines"] if line["amount"] > 0)
            returns = -sum(line["amount"] for line in body["lines"] if line["amount"] < 0)
            if grand is None:
                grand = (0, 0) if body["number"] == 1 else (body["grand_total_sales"] - sales, body["grand_total_returns"] - returns)
            grand = (grand[0] + sales, grand[1] + returns)
            if grand != (body["grand_total_sales"], body["grand_total_returns"]):
                fail(seq, "modified", f"receipt {body['number']} was signed with grand totals {body['grand_total_sales']}/"
                     f"{body['grand_total_returns']}, but the receipts before it and its lines give {grand[0]}/{grand[1]}")
        if kind.startswith("shift_") or kind.startswith("rescue_shift_"):
            shift_bodies[entry["ref"]] = (seq, body)
        if kind in ("cash_in", "cash_out", "no_sale"):
            movement_bodies[entry["ref"]] = (seq, body)
            add(body["session"], f"cash_{body['type']}", 1, body["amount"])
            if body.get("reverses") is not None:
                add(body["session"], "cash_reversals", 1, body["amount"])
        elif kind in ("copy", "proforma"):
            add(body["session"], "copies" if kind == "copy" else "proforma", 1, body["total"])
        elif kind == "parked_unfinished":
            # A parked sale still open at a Z: an unfinished sale of that shift.
            add(body["session"], "unfinished", 1, body["amount"])
        elif kind == "parked_reduction":
            # Lines taken off a parked sale: other reductions.
            if body.get("session") is not None:
                add(body["session"], "reductions", body["count"], body["amount"])
        elif kind == "void":
            if isinstance(body.get("unfinished"), dict):
                add(body["unfinished"]["session"], "unfinished", 1, body["unfinished"]["amount"])
        elif kind == "setting":
            if body.get("key") == "vat-rounding":
                vat_rounding = body["value"]
        elif kind in ("shift_open", "rescue_shift_open"):
            if state is not None:
                state_shifts.add(entry["ref"])
        elif kind == "z_report":
            try:
                report = json.loads(body["report_json"])
            except (KeyError, ValueError):
                fail(seq, "modified", "the Z report's report_json is not JSON")
            figures = shifts.get(body["session_id"], {})
            for name, key in (("sales", "sales"), ("returns", "returns"), ("cashIn", "cash_in"), ("cashOut", "cash_out")):
                signed_figure = (report[name]["count"], report[name]["amount"])
                if signed_figure != figures.get(key, (0, 0)):
                    fail(seq, "modified", f"Z {body['z_no']} signed {name} {signed_figure}, but the shift's signed facts give "
                         f"{figures.get(key, (0, 0))}")
            if grand is not None and (body["grand_total_sales_after"], body["grand_total_returns_after"]) != grand:
                fail(seq, "modified", f"Z {body['z_no']} signed grand totals {body['grand_total_sales_after']}/"
                     f"{body['grand_total_returns_after']}, but the receipts give {grand[0]}/{grand[1]}")
        if state is not None:
            parsed = parse_state(state)
            if parsed is None:
                fail(seq, "modified", "the state it signed cannot be read")
            if grand is None:
                grand = (parsed[0], parsed[1])
            elif (parsed[0], parsed[1]) != grand:
                fail(seq, "modified", f"it signed grand totals {parsed[0]}/{parsed[1]}, but the signed receipts up to it add up to "
                     f"{grand[0]}/{grand[1]}: a grand-total counter was changed")
            if parsed[3] in state_shifts and totals_digest(shifts.get(parsed[3], {})) != parsed[2]:
                fail(seq, "modified", f"it signed running totals of shift {parsed[3]} that the shift's signed facts do not give: "
                     "a running total was changed before it was signed")
        previous, last_seq = entry["hash"], seq
    if last_seq != header["entries"] or (last_seq > 0 and previous != header["head"]):
        fail(last_seq + 1, "missing", f"the journal ends at entry {last_seq}, the terminal recorded {header['entries']}")
    stored = header.get("grand_totals")
    if stored is not None and grand is not None and (stored["sales"], stored["returns"]) != grand:
        fail(last_seq + 1, "modified", f"the terminal's grand-total counters say {stored['sales']}/{stored['returns']}, "
             f"but the signed receipts add up to {grand[0]}/{grand[1]}")
    # The rows as the terminal stored them (header "rows"), against what the journal signed and recomputes.
    # Exports written before the header carried them have no "rows": nothing to hold against.
    rows = header.get("rows")
    if rows is None:
        shift_bodies, movement_bodies, state_shifts = {}, {}, set()
    for shift, (seq, body) in sorted(shift_bodies.items(), key=lambda item: item[1][0]):
        row = rows.get("shifts", {}).get(shift)
        if row is None:
            fail(seq, "missing", f"shift {shift} of entry {seq} is not among the terminal's shifts")
        for column, value in row.items():
            if column in body and body[column] != value:
                fail(seq, "modified", f"shift {shift}: its row says {column} {value!r}, but entry {seq} signed {body[column]!r}")
    for movement, (seq, body) in sorted(movement_bodies.items(), key=lambda item: item[1][0]):
        row = rows.get("cash_movements", {}).get(movement)
        if row is None or (row["amount"], row["type"], row["session"]) != (body["amount"], body["type"], body["session"]):
            fail(seq, "modified", f"cash movement {movement}: its row differs from what entry {seq} signed")
    for shift in sorted(state_shifts):
        stored = {key: tuple(value) for key, value in rows.get("running_totals", {}).get(shift, {}).items()}
        if stored != shifts.get(shift, {}):
            differing = sorted(set(stored) ^ set(shifts.get(shift, {})) | {k for k in stored if stored[k] != shifts.get(shift, {}).get(k)})
            fail(last_seq + 1, "modified", f"shift {shift}: its running totals {differing} are not what its signed facts give")
    for anchor in header.get("anchors", []):
        if anchor["counter"] > counters.get(anchor["module"], 0):
            fail(last_seq + 1, "missing", f"module {anchor['module']} signed up to counter {anchor['counter']} (its anchor), but "
                 f"the journal's last entry it signed has counter {counters.get(anchor['module'], 0)}: the tail was removed")
    if header.get("unverified"):
        print(f"FAIL: the export is marked unverified: {header['unverified']}")
        return 1
    print(f"OK {last_seq} entries of terminal {terminal}, signed by {', '.join(sorted(keys)) or 'no module'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
