// Connects with node-postgres to each connection string read from standard input, one per line,
// and prints one JSON line per string: {"ok":true,"ssl":BOOL} or {"ok":false,"error":"..."}.
'use strict'
const readline = require('readline')
const { Client } = require('pg')

async function probe(connectionString) {
  const client = new Client({ connectionString, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    const r = await client.query('select ssl from pg_stat_ssl where pid = pg_backend_pid()')
    return { ok: true, ssl: r.rows[0].ssl }
  } catch (e) {
    return { ok: false, error: `${e.code || ''} ${e.message}`.trim() }
  } finally {
    await client.end().catch(() => {})
  }
}

async function main() {
  process.removeAllListeners('warning')
  process.on('warning', () => {})
  const lines = readline.createInterface({ input: process.stdin })
  for await (const line of lines) {
    console.log(JSON.stringify(await probe(line)))
  }
}

main()
