#!/usr/bin/env python3
"""Connections that stream Message-mode frames as fast as the socket takes them,
without acks, as Fluent Bit or a chatty container does: what brings an event
loop hundreds of frames a read and makes the decode budget run short.

Each of --connections sends --frames frames whose "log" is "c<connection> n<n>",
pre-built and written in large blocks, then one last frame asking for an ack.
The shipper acks it only once it and everything before it on that connection is
committed, so its ack means the connection's frames are all stored. Prints
"ACKED <connection>" for each; exits 0 once every connection is acked, 1 if one
is not within --timeout.

With --write-bytes N the frames go out as one stream cut into writes of N bytes,
--pause seconds apart: writes (and so the shipper's reads) end inside frames, as
a busy client's do, for as long as the stream lasts. With --first-log-bytes N
the first frame's "log" is N bytes long, so that the shipper's buffer grows for it.
"""
import argparse
import socket
import sys
import threading
import time

import msgpack

from forward_protocol import Answers

# print() from several threads can interleave its pieces ("ACKEDACKED  1"); one line at a time.
print_lock = threading.Lock()


def say(line):
    with print_lock:
        print(line, flush=True)


def record(index, log):
    """A Docker-shaped record with the ECS labels, which the tutorial's filters route to an output."""
    return {"log": log, "source": "stdout", "com.amazonaws.ecs.cluster": "streaming",
            "com.amazonaws.ecs.container-name": "app%d" % index,
            "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/streaming/%08x" % index,
            "com.amazonaws.ecs.task-definition-family": "streaming", "com.amazonaws.ecs.task-definition-version": "1"}


def stream(index, args, failures):
    now = int(time.time())
    frames = [msgpack.packb(["app", now, record(index, "c%d n%d" % (index, n))]) for n in range(args.frames)]
    if args.first_log_bytes:
        frames[0] = msgpack.packb(["app", now, record(index, "c%d n0 " % index + "x" * args.first_log_bytes)])
    chunk = "c%d-last" % index
    last = msgpack.packb(["app", now, record(index, "c%d last" % index), {"chunk": chunk}])
    try:
        conn = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
        if args.write_bytes:
            data = b"".join(frames)
            for start in range(0, len(data), args.write_bytes):
                conn.sendall(data[start:start + args.write_bytes])
                time.sleep(args.pause)
        else:
            for start in range(0, len(frames), 1000):
                conn.sendall(b"".join(frames[start:start + 1000]))
        conn.sendall(last)
        answers = Answers(conn)
        answer = answers.next()
        if answer.get("ack") != chunk:
            raise RuntimeError("unexpected answer %r" % answer)
        say("ACKED %d" % index)
        conn.close()
    except Exception as error:  # a timeout, a reset: this connection's frames were not all stored
        failures.append("connection %d: %r" % (index, error))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--write-bytes", type=int, default=0)
    parser.add_argument("--pause", type=float, default=0)
    parser.add_argument("--first-log-bytes", type=int, default=0)
    args = parser.parse_args()
    failures = []
    threads = [threading.Thread(target=stream, args=(index, args, failures)) for index in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for failure in failures:
        say("FAILED %s" % failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
