#!/usr/bin/env python3
"""A forward client that behaves like Docker's fluentd driver with fluentd-request-ack:
one Message-mode frame at a time per connection, each with its own chunk id, waiting
for {"ack": chunk}; after a broken connection it reconnects and resends the same frame
with the same chunk id until it is acked.

Several connections run side by side, each as fast as its acks come, or one record
every --interval seconds (with --event-time the record's time is an EventTime with
nanoseconds, as Docker's fluentd-sub-second-precision sends it, so that a test can
tell how late each record was delivered). Every acked record is printed as
"ACK <connection> <sequence>" the moment its ack arrives. On SIGTERM each connection
finishes (gets acked) the frame it is sending, then the client exits.
"""
import argparse
import signal
import socket
import struct
import sys
import threading
import time
import uuid

import msgpack

from forward_protocol import Answers

stop = threading.Event()
print_lock = threading.Lock()


def connect(host, port, deadline):
    while time.time() < deadline:
        try:
            conn = socket.create_connection((host, port), timeout=5)
            conn.settimeout(5)
            return conn
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("could not connect before the deadline")


def run(index, args, deadline):
    conn = None
    seq = 0
    while not stop.is_set() and time.time() < deadline:
        chunk = uuid.uuid4().hex
        log = "c%d line %d" % (index, seq)
        if args.log_bytes:
            # Text that differs throughout, as real lines do: shapes cannot store it once.
            log += " " + (uuid.uuid4().hex * (args.log_bytes // 32 + 1))[:args.log_bytes]
        record = {"container_id": "c%d" % index, "source": "stdout", "log": log,
                  "com.amazonaws.ecs.cluster": "crash", "com.amazonaws.ecs.container-name": "app%d" % index,
                  "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/crash/%08x" % index,
                  "com.amazonaws.ecs.task-definition-family": "crash", "com.amazonaws.ecs.task-definition-version": "1"}
        now = time.time()
        when = msgpack.ExtType(0, struct.pack(">II", int(now), int(now % 1 * 1e9))) if args.event_time else int(now)
        frame = msgpack.packb(["crash", when, record, {"chunk": chunk}])
        while time.time() < deadline:
            try:
                if conn is None:
                    conn = connect(args.host, args.port, deadline)
                conn.sendall(frame)
                answer = Answers(conn).next()
                if answer is None:
                    raise ConnectionError("closed before ack")
                if answer != {"ack": chunk}:
                    print("connection %d: unexpected answer %r" % (index, answer), file=sys.stderr, flush=True)
                    sys.exit(1)
                with print_lock:
                    print("ACK %d %d" % (index, seq), flush=True)
                break
            except (OSError, ConnectionError, TimeoutError):
                if conn is not None:
                    conn.close()
                conn = None
        seq += 1
        if args.interval:
            stop.wait(args.interval)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--log-bytes", type=int, default=0, help="pad each line with this many bytes of varied text")
    parser.add_argument("--interval", type=float, default=0, help="seconds between a connection's records (0: as fast as acks come)")
    parser.add_argument("--event-time", action="store_true", help="send each record's time as an EventTime with nanoseconds")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.time() + args.max_seconds
    threads = [threading.Thread(target=run, args=(i, args, deadline)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
