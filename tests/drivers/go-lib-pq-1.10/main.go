// Command driverprobe connects with lib/pq 1.10 (the line before 1.12's TLS changes) to each
// connection string read from standard input, one per line, and prints one JSON line per string:
// {"ok":true,"ssl":BOOL} or {"ok":false,"error":"..."}. pgtls's driver tests run it for
// `--client lib-pq@1.10`; ../go holds the current drivers' probe.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/lib/pq"
)

type verdict struct {
	OK    bool   `json:"ok"`
	SSL   *bool  `json:"ssl,omitempty"`
	Error string `json:"error,omitempty"`
}

func probe(ctx context.Context, s string) (v verdict) {
	// lib/pq 1.10 panics on some environment variables; a panic is its verdict too.
	defer func() {
		if r := recover(); r != nil {
			v = verdict{Error: fmt.Sprint(r)}
		}
	}()
	connector, err := pq.NewConnector(s)
	if err != nil {
		return verdict{Error: err.Error()}
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	var ssl bool
	err = db.QueryRowContext(ctx, "select ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&ssl)
	if err != nil {
		return verdict{Error: err.Error()}
	}
	return verdict{OK: true, SSL: &ssl}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v := probe(ctx, in.Text())
		cancel()
		if err := out.Encode(v); err != nil {
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
