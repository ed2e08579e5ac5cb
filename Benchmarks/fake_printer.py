#!/usr/bin/env python3
"""A simulated network receipt printer (port 9100 style) for the service benchmarks and the kill loop; named as a
simulator, it stands for a printer, and Kassa has no path for it.

It answers each `DLE EOT n` with 0x12 (online, cover closed, paper present, no error) and each Epson process-ID
request (`GS ( H` fn 48) with its ID, as a printer does once everything before it has printed. It counts bytes and
connections, and appends every job marker it sees (`KASSA-JOB-<number>#`, also split across reads) to MARKERS, one
per line, so a checker can tell which jobs reached the paper and how often.

Usage: fake_printer.py PORT_FILE [MARKERS]   (writes its port to PORT_FILE once it listens)"""
import asyncio
import re
import sys

MARKER = re.compile(rb"KASSA-JOB-(\d+)#")
PROCESS_ID = b"\x1d\x28\x48\x06\x00\x30\x30"


async def main() -> None:
    markers = open(sys.argv[2], "a", buffering=1) if len(sys.argv) > 2 else None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tail = b""
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionError:  # the service was killed mid-job (the kill loop): the connection is gone
                break
            if not chunk:
                break
            window = tail + chunk
            start = len(tail)
            answers = bytearray()
            index = max(0, start - 2)
            while True:
                found = window.find(b"\x10\x04", index)
                if found < 0 or found + 2 >= len(window):
                    break
                if 1 <= window[found + 2] <= 4 and found + 2 >= start:
                    answers.append(0x12)
                index = found + 2
            index = 0
            while True:
                found = window.find(PROCESS_ID, index)
                if found < 0 or found + 11 > len(window):
                    break
                if found + 11 > start:
                    answers += b"\x37\x22" + window[found + 7:found + 11] + b"\x00"
                index = found + 11
            if markers:
                for match in MARKER.finditer(window):
                    if match.end() > start:
                        markers.write(match.group(1).decode() + "\n")
            if answers:
                writer.write(bytes(answers))
                await writer.drain()
            tail = window[-24:]
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1], "w") as file:
        file.write(str(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
