#!/usr/bin/env python3
"""Many connections that each send large gzip CompressedPackedForward frames at
the same moment and wait for their acks: what a fleet of Fluent Bit forwarders
flushing big chunks together looks like, and what makes decoded-but-uncommitted
bytes pile up across connections.

Each frame holds --records records whose "log" is "c<connection> f<frame> r<n>"
beside a "pad" field of --pad-bytes of varied text (so it inflates to records x
pad bytes but compresses well). All connections connect first, then send
together. Each acked frame prints "ACK <connection> <frame> <records>"; the
client exits 0 once every frame is acked, 1 if one is not within --timeout.
"""
import argparse
import gzip
import random
import socket
import sys
import threading
import time
import uuid

import msgpack

from forward_protocol import Answers

print_lock = threading.Lock()


def frame(index, number, args):
    rng = random.Random(index * 1000 + number)
    words = ["%08x" % rng.getrandbits(32) for _ in range(64)]
    packed = bytearray()
    now = int(time.time())
    for n in range(args.records):
        pad = " ".join(rng.choice(words) for _ in range(args.pad_bytes // 9 + 1))[:args.pad_bytes]
        record = {"log": "c%d f%d r%d" % (index, number, n), "pad": pad,
                  "com.amazonaws.ecs.cluster": "budget", "com.amazonaws.ecs.container-name": "app%d" % index,
                  "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/budget/%08x" % index,
                  "com.amazonaws.ecs.task-definition-family": "budget", "com.amazonaws.ecs.task-definition-version": "1"}
        packed += msgpack.packb([now, record])
    chunk = uuid.uuid4().hex
    return chunk, msgpack.packb(["app", gzip.compress(bytes(packed)), {"chunk": chunk, "compressed": "gzip", "size": args.records}])


def run(index, args, start, failures):
    frames = [frame(index, number, args) for number in range(args.frames)]
    conn = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    start.wait()
    answers = Answers(conn)
    for number, (chunk, data) in enumerate(frames):
        conn.sendall(data)
        answer = answers.next()
        if answer != {"ack": chunk}:
            with print_lock:
                print("NOACK %d %d %r" % (index, number, answer), flush=True)
            failures.append(index)
            return
        with print_lock:
            print("ACK %d %d %d" % (index, number, args.records), flush=True)
    conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--pad-bytes", type=int, default=4000)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    start = threading.Barrier(args.connections + 1)
    failures = []
    threads = [threading.Thread(target=lambda i=i: run(i, args, start, failures), daemon=True) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    start.wait(timeout=args.timeout)
    print("SENDING", flush=True)
    deadline = time.time() + args.timeout
    for thread in threads:
        thread.join(max(0, deadline - time.time()))
    if failures or any(thread.is_alive() for thread in threads):
        print("FAILED", flush=True)
        sys.exit(1)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
