#!/usr/bin/env python3
"""Sends frames built the way Fluent Bit 2.x-5.1's out_forward builds them, with acks:
every entry is [[EventTime, metadata], record] (Retain_Metadata_In_Forward_Mode, on by
default), options carry the 32-hex-digit chunk (the first 16 bytes of the SHA-512 of the
entries), "size" and "fluent_signal": 0 (Send_options / Require_ack_response), in

  forward     [tag, [entries], options]
  packed      [tag, bin(entries), options]
  gzip        [tag, bin(gzip(entries)), options + compressed: gzip]
  zstd        [tag, bin(zstd(entries)), options + compressed: zstd] (Fluent Bit 4.1+, Fluentd 1.19)
  message     [tag, [EventTime, metadata], record, options] (out_forward with a per-record Tag)

Each record's log is "<mode> <n>"; each event time is NOW + 0.987654321 s. Prints "ACK <mode>".
"""
import argparse
import gzip
import hashlib
import socket
import struct
import sys
import time

import msgpack
import zstandard

from forward_protocol import Answers

NANOSECONDS = 987654321


def event_time(seconds):
    return msgpack.ExtType(0, struct.pack(">II", seconds, NANOSECONDS))


def record(mode, n):
    return {"log": "%s %d" % (mode, n), "stream": "stdout", "com.amazonaws.ecs.cluster": "fb",
            "com.amazonaws.ecs.container-name": "app",
            "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/fb/5e1f0b17",
            "com.amazonaws.ecs.task-definition-family": "fb", "com.amazonaws.ecs.task-definition-version": "1"}


def entries(mode, now, count):
    return [[[event_time(now), {}], record(mode, n)] for n in range(count)]


def options(packed_entries, count, compressed=None):
    result = {"chunk": hashlib.sha512(packed_entries).hexdigest()[:32], "size": count, "fluent_signal": 0}
    if compressed:
        result["compressed"] = compressed
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    now = int(time.time())
    frames = []
    for mode in ("forward", "packed", "gzip", "zstd"):
        listed = entries(mode, now, 3)
        packed = b"".join(msgpack.packb(entry) for entry in listed)
        if mode == "forward":
            frames.append((mode, ["fb.app", listed, options(packed, 3)]))
        elif mode == "packed":
            frames.append((mode, ["fb.app", packed, options(packed, 3)]))
        elif mode == "gzip":
            frames.append((mode, ["fb.app", gzip.compress(packed), options(packed, 3, "gzip")]))
        else:
            frames.append((mode, ["fb.app", zstandard.ZstdCompressor().compress(packed), options(packed, 3, "zstd")]))
    single = msgpack.packb([[event_time(now), {}], record("message", 0)])
    frames.append(("message", ["fb.app", [event_time(now), {}], record("message", 0), {"chunk": hashlib.sha512(single).hexdigest()[:32]}]))

    conn = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    answers = Answers(conn)
    for mode, frame in frames:
        conn.sendall(msgpack.packb(frame, use_bin_type=True))
        answer = answers.next()
        if answer is None:
            print("closed before ack on %s" % mode, file=sys.stderr)
            return 1
        assert answer == {"ack": frame[-1]["chunk"]}, answer
        print("ACK %s" % mode, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
