#!/usr/bin/env python3
"""The service peer of `kassa serve`'s load benchmark: the idiomatic small print service a shop would write instead,
a Flask app that draws the benchmark receipt with python-escpos 3.1 (escpos_receipt.py, the same content as Kassa's)
and sends it to a network printer. It answers when the bytes are sent (python-escpos has no confirmation), runs on
Flask's own threaded server, and keeps nothing: a request lost is a receipt lost.

Usage: flask_escpos_service.py RECEIPT.json PRINTER_HOST PRINTER_PORT LISTEN_PORT"""
import logging
import sys
import warnings

from escpos.printer import Network
from flask import Flask, jsonify, request

from escpos_receipt import load

logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
receipt = load(sys.argv[1])
host, port, listen = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
app = Flask(__name__)


@app.post("/print")
def print_receipt():
    body = request.get_json(force=True, silent=True) or {}
    printer = Network(host, port=port, timeout=10, profile="TM-T20II")
    try:
        if "marker" in body:
            printer.textln(str(body["marker"]))
        receipt(printer, False)
    finally:
        printer.close()
    return jsonify(ok=True)


@app.get("/health")
def health():
    return jsonify(ok=True)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=listen, threaded=True)
