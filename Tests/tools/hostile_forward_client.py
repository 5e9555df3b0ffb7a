#!/usr/bin/env python3
"""Sends one kind of bad input to a forward input and reports whether the server
closed the connection: prints "CLOSED" (exit 0) or "STILL OPEN" (exit 1).

Cases: truncated, not-a-frame, malformed, huge-length, wrong-types, deep-nesting,
bad-gzip, gzip-bomb, zstd-bomb, many-entries (2,000,000 empty entries in 6 KB of gzip),
huge-record, non-utf8-key, size-mismatch, idle, frame-too-large.
"""
import argparse
import gzip
import socket
import sys
import time

import msgpack
import zstandard


def frame(case):
    record = {"log": "hostile"}
    if case == "truncated":
        return msgpack.packb(["app", int(time.time()), record, {"chunk": "t1"}])[:-5]
    if case == "not-a-frame":
        return b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    if case == "malformed":
        return b"\x93\xa3app\xc1\xc1"
    if case == "huge-length":
        return b"\x93\xa3app\x01\xdb\xff\xff\xff\xff" + b"A" * 100
    if case == "wrong-types":
        return msgpack.packb([123, "not a time", "not a map"])
    if case == "deep-nesting":
        return b"\x93\xa3app\x01\x81\xa3key" + b"\x91" * 200 + b"\xc0"
    if case == "bad-gzip":
        return msgpack.packb(["app", b"\x1f\x8b\x08\x00garbage-not-deflate", {"compressed": "gzip"}], use_bin_type=True)
    if case == "gzip-bomb":
        return msgpack.packb(["app", gzip.compress(b"\x00" * (64 << 20)), {"compressed": "gzip"}], use_bin_type=True)
    if case == "zstd-bomb":
        return msgpack.packb(["app", zstandard.ZstdCompressor().compress(b"\x00" * (64 << 20)), {"compressed": "zstd"}], use_bin_type=True)
    if case == "many-entries":
        return msgpack.packb(["app", gzip.compress(msgpack.packb([1, {}]) * 2000000, 9), {"compressed": "gzip"}], use_bin_type=True)
    if case == "huge-record":
        return msgpack.packb(["app", int(time.time()), {"log": "x" * 600000}, {"chunk": "h1"}])
    if case == "non-utf8-key":
        return b"\x93\xa3app\x01\x81\xa2\xff\xfe\xa1v"
    if case == "size-mismatch":
        return msgpack.packb(["app", [[1, record], [2, record]], {"size": 5}])
    if case == "frame-too-large":
        # Many small entries: no single length is over the limit, the frame as a whole is.
        return msgpack.packb(["app", [[int(time.time()), {"log": "x" * 1000}]] * 7000])
    if case == "idle":
        return b""
    raise SystemExit("unknown case " + case)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--case", required=True)
    parser.add_argument("--wait", type=float, default=15)
    args = parser.parse_args()
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=args.wait)
    try:
        conn.sendall(frame(args.case))
        if args.case == "truncated":
            conn.shutdown(socket.SHUT_WR)
        while True:
            data = conn.recv(4096)
            if not data:
                break
            if b"ack" in data:
                print("ACKED a bad frame", flush=True)
                return 1
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        print("STILL OPEN", flush=True)
        return 1
    print("CLOSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
