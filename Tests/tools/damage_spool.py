#!/usr/bin/env python3
"""Damages a copy of a shipper spool the way a failing disk or a cut-short copy would.

  dump FILE                 one JSON line per record: {"id": n, "message": whole message}
  damage FILE --pages N --truncate-pages M [--seed S]
                            checkpoints FILE's WAL into it, overwrites N leaf pages of the
                            records table from the middle of the file with random bytes, then
                            cuts the last M pages off; prints the pages it overwrote.
"""
import argparse
import json
import os
import random
import sqlite3

# A record with a shape stores only its middle; the shape holds how it starts and ends.
WHOLE = """CASE WHEN r.shape IS NULL THEN r.message ELSE CAST(
    (SELECT prefix FROM shapes WHERE id = r.shape) || r.message || (SELECT suffix FROM shapes WHERE id = r.shape) AS BLOB) END"""


def dump(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    for record_id, message in db.execute("SELECT r.id, %s FROM records r ORDER BY r.id" % WHOLE):
        print(json.dumps({"id": record_id, "message": bytes(message).decode()}))


def damage(path, pages, truncate_pages, seed):
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    leaves = [row[0] for row in db.execute("SELECT pageno FROM dbstat WHERE name = 'records' AND pagetype = 'leaf' ORDER BY pageno")]
    db.close()
    if len(leaves) < pages * 4:
        raise SystemExit("only %d leaf pages of records: too few to damage %d" % (len(leaves), pages))
    chosen = leaves[len(leaves) // 2: len(leaves) // 2 + pages]
    rng = random.Random(seed)
    with open(path, "r+b") as file:
        for page in chosen:
            file.seek((page - 1) * page_size)
            file.write(bytes(rng.randrange(256) for _ in range(page_size)))
    os.truncate(path, os.path.getsize(path) - truncate_pages * page_size)
    print(json.dumps({"overwritten": chosen, "truncated_pages": truncate_pages, "page_size": page_size}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("file")
    g = sub.add_parser("damage")
    g.add_argument("file")
    g.add_argument("--pages", type=int, required=True)
    g.add_argument("--truncate-pages", type=int, required=True)
    g.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.file)
    else:
        damage(args.file, args.pages, args.truncate_pages, args.seed)


if __name__ == "__main__":
    main()
