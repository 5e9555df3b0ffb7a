#!/usr/bin/env python3
"""Sends records in each Forward protocol mode, with acks, built with the msgpack package:
Message (integer time), Message (EventTime), Forward, PackedForward, and
CompressedPackedForward (two gzip members back to back), and a large Forward frame
(1,000 records of 1 KiB, larger than the server's first receive buffer, sent in
16 KiB pieces). Every
record's log is "<mode> <n>" (the large ones padded with "y"). Prints "ACK <mode>"
per acked frame.
"""
import argparse
import gzip
import socket
import struct
import sys
import time
import uuid

import msgpack

from forward_protocol import Answers


def event_time(seconds, nanoseconds):
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanoseconds))


def record(mode, n, pad=0):
    return {"log": "%s %d" % (mode, n) + "y" * pad, "com.amazonaws.ecs.cluster": "modes", "com.amazonaws.ecs.container-name": "app",
            "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/modes/0a1b2c3d",
            "com.amazonaws.ecs.task-definition-family": "modes", "com.amazonaws.ecs.task-definition-version": "1"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    now = int(time.time())
    frames = []
    frames.append(("message", lambda c: ["app", now, record("message", 0), {"chunk": c}]))
    frames.append(("eventtime", lambda c: ["app", event_time(now, 123456789), record("eventtime", 0), {"chunk": c}]))
    frames.append(("forward", lambda c: ["app", [[now, record("forward", i)] for i in range(3)], {"chunk": c, "size": 3}]))
    packed = b"".join(msgpack.packb([now, record("packed", i)]) for i in range(3))
    frames.append(("packed", lambda c: ["app", packed, {"chunk": c, "size": 3}]))
    compressed = gzip.compress(b"".join(msgpack.packb([now, record("compressed", i)]) for i in range(2))) + \
        gzip.compress(msgpack.packb([now, record("compressed", 2)]))
    frames.append(("compressed", lambda c: ["app", compressed, {"chunk": c, "size": 3, "compressed": "gzip"}]))
    frames.append(("large", lambda c: ["app", [[now, record("large", i, pad=1000)] for i in range(1000)], {"chunk": c, "size": 1000}]))
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    answers = Answers(conn)
    for mode, build in frames:
        chunk = uuid.uuid4().hex
        frame = msgpack.packb(build(chunk), use_bin_type=True)
        if mode == "large":
            # Trickled in 16 KiB pieces, so the server receives it over many reads.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for start in range(0, len(frame), 16384):
                conn.sendall(frame[start:start + 16384])
                time.sleep(0.001)
        else:
            conn.sendall(frame)
        answer = answers.next()
        if answer is None:
            print("closed before ack on %s" % mode, file=sys.stderr)
            return 1
        assert answer == {"ack": chunk}, answer
        print("ACK %s" % mode, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
