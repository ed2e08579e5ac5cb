#!/usr/bin/env python3
"""Independent verifier for a Kassa journal export (Docs/journal-format.md).

Usage: verify_journal.py EXPORT_DIR        (the folder `kassa journal export --to` wrote)

Checks, without Kassa: every entry's hash (SHA-256 of its signed data), the chain of previous hashes from the genesis
value, the sequence numbers, each fiscal module's ES256 signature and rising signature counter, the canonical form of
each body, and that the journal ends at the head the terminal recorded. Needs `cryptography` (pip or python3-cryptography).
Exit 0: the journal is intact. Exit 1: the first bad entry is named. Exit 2: the export cannot be read.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

FORMAT = "KASSA-JOURNAL-1"
FAILURE_KIND = "fiscal_module_failure"


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    # Recomputed from the signed facts: the grand totals through every receipt, and per shift the figures its Z signs.
    grand = None
    shifts = {}

    def add(session, key, amount):
        count, total = shifts.setdefault(session, {}).get(key, (0, 0))
        shifts[session][key] = (count + 1, total + amount)

    for line in lines[1:]:
        entry = json.loads(line)
        seq = entry["seq"]
        if seq != last_seq + 1:
            fail(seq, "missing", f"entries {last_seq + 1}..{seq - 1} are missing")
        if entry["terminal"] != terminal:
            fail(seq, "modified", f"entry of terminal {entry['terminal']} in the journal of {terminal}")
        message = "\n".join([FORMAT, terminal, entry["time"], entry["kind"], entry["ref"], entry["module"], entry["prev"], entry["body"]])
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
        if entry["kind"] in ("receipt", "refund"):
            sales = sum(line["amount"] for line in body["lines"] if line["amount"] > 0)
            returns = -sum(line["amount"] for line in body["lines"] if line["amount"] < 0)
            if grand is None:
                grand = (0, 0) if body["number"] == 1 else (body["grand_total_sales"] - sales, body["grand_total_returns"] - returns)
            grand = (grand[0] + sales, grand[1] + returns)
            if grand != (body["grand_total_sales"], body["grand_total_returns"]):
                fail(seq, "modified", f"receipt {body['number']} was signed with grand totals {body['grand_total_sales']}/"
                     f"{body['grand_total_returns']}, but the receipts before it and its lines give {grand[0]}/{grand[1]}")
            if sales > 0:
                add(body["session"], "sales", sales)
            if returns > 0:
                add(body["session"], "returns", returns)
        elif entry["kind"] in ("cash_in", "cash_out"):
            add(body["session"], entry["kind"], body["amount"])
        elif entry["kind"] == "z_report":
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
        previous, last_seq = entry["hash"], seq
    if last_seq != header["entries"] or (last_seq > 0 and previous != header["head"]):
        fail(last_seq + 1, "missing", f"the journal ends at entry {last_seq}, the terminal recorded {header['entries']}")
    stored = header.get("grand_totals")
    if stored is not None and grand is not None and (stored["sales"], stored["returns"]) != grand:
        fail(last_seq + 1, "modified", f"the terminal's grand-total counters say {stored['sales']}/{stored['returns']}, "
             f"but the signed receipts add up to {grand[0]}/{grand[1]}")
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
