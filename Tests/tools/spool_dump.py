#!/usr/bin/env python3
"""Prints the `log` field of every record in a shipper spool, one per line (read-only)."""
import json
import sqlite3
import sys

db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
# A record with a shape stores only its middle; the shape holds how it starts and ends.
WHOLE = """CASE WHEN r.shape IS NULL THEN r.message ELSE CAST(
    (SELECT prefix FROM shapes WHERE id = r.shape) || r.message || (SELECT suffix FROM shapes WHERE id = r.shape) AS BLOB) END"""
for (message,) in db.execute("SELECT %s FROM records r ORDER BY r.id" % WHOLE):
    print(json.loads(message)["log"])
