#!/usr/bin/env python3
"""Containers logging steadily without acks, the way Docker's default fluentd driver
(async, no fluentd-request-ack) does, through the fluent-logger package.

Each client emits one Docker-shaped record every --interval seconds on its own
connection, and prints "SENT <client> <sequence>" once fluent-logger took it. A
send that fails stays in fluent-logger's pending buffer and goes out with the next
emit, on a new connection, so across restarts of the server every printed line
must arrive. On SIGTERM the clients stop emitting, send what is still pending
(retrying until --flush-seconds pass), print "PENDING <client> <bytes>" for
anything they could not send, and exit; "DROPPED" means the buffer overflowed.

With --like-docker the clients write plain msgpack frames the way Docker's Go
driver (fluent-logger-golang, async) does: they never read the socket, so they
learn of a closed connection only from a write that fails, which they print as
"BROKEN <client> <sequence>" and then retry, on a new connection, until it goes.
"""
import argparse
import socket
import signal
import sys
import threading
import time

import msgpack
from fluent import sender

stop = threading.Event()
print_lock = threading.Lock()


def say(text):
    with print_lock:
        print(text, flush=True)


def record(index, seq):
    return {"container_id": "s%d" % index, "source": "stdout", "log": "s%d line %d" % (index, seq),
            "com.amazonaws.ecs.cluster": "steady", "com.amazonaws.ecs.container-name": "app%d" % index,
            "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:012345678901:task/steady/%08x" % index,
            "com.amazonaws.ecs.task-definition-family": "steady", "com.amazonaws.ecs.task-definition-version": "1"}


def run_like_docker(index, args):
    conn = None
    seq = 0
    while not stop.is_set():
        frame = msgpack.packb(["steady", int(time.time()), record(index, seq)])
        while True:
            try:
                if conn is None:
                    conn = socket.create_connection((args.host, args.port), timeout=5)
                conn.sendall(frame)
                break
            except OSError:
                if conn is not None:
                    say("BROKEN %d %d" % (index, seq))
                    conn.close()
                conn = None
                time.sleep(0.02)
        say("SENT %d %d" % (index, seq))
        seq += 1
        stop.wait(args.interval)
    if conn is not None:
        conn.close()


def run(index, args):
    if args.like_docker:
        return run_like_docker(index, args)

    def overflow(pending):
        say("DROPPED %d %d" % (index, len(pending)))

    client = sender.FluentSender("steady", host=args.host, port=args.port, buffer_overflow_handler=overflow)
    seq = 0
    while not stop.is_set():
        # Failed or not, the record is now fluent-logger's: sent, or pending for the next send.
        client.emit_with_time(None, int(time.time()), record(index, seq))
        say("SENT %d %d" % (index, seq))
        seq += 1
        stop.wait(args.interval)
    deadline = time.time() + args.flush_seconds
    while client.pendings and time.time() < deadline:
        client._send(b"")
        if client.pendings:
            time.sleep(0.1)
    if client.pendings:
        say("PENDING %d %d" % (index, len(client.pendings)))
    client.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--flush-seconds", type=float, default=30)
    parser.add_argument("--like-docker", action="store_true", help="plain frames, no reads: learn of a close only from a failed write")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=run, args=(i, args)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    say("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
