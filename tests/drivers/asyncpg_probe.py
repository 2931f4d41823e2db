"""Connects with asyncpg to each DSN read from standard input, one per line, and prints one JSON
line per DSN: {"ok": true, "ssl": BOOL} or {"ok": false, "error": "..."}."""

import asyncio
import json
import sys

import asyncpg


async def probe(dsn):
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except Exception as e:  # every failure is a verdict
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    try:
        ssl = await conn.fetchval("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        return {"ok": True, "ssl": ssl}
    finally:
        await conn.close()


async def main():
    for line in sys.stdin:
        print(json.dumps(await probe(line.rstrip("\n"))), flush=True)


asyncio.run(main())
