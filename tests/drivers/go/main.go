// Command driverprobe connects with one Go driver, pgx or lib/pq (the first argument), to each
// connection string read from standard input, one per line, and prints one JSON line per string:
// {"ok":true,"ssl":BOOL} or {"ok":false,"error":"..."}. pgtls's driver tests run it.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
)

const query = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"

type verdict struct {
	OK    bool   `json:"ok"`
	SSL   *bool  `json:"ssl,omitempty"`
	Error string `json:"error,omitempty"`
}

func viaPgx(ctx context.Context, s string) verdict {
	conn, err := pgx.Connect(ctx, s)
	if err != nil {
		return verdict{Error: err.Error()}
	}
	defer conn.Close(context.Background())
	var ssl bool
	if err := conn.QueryRow(ctx, query).Scan(&ssl); err != nil {
		return verdict{Error: err.Error()}
	}
	return verdict{OK: true, SSL: &ssl}
}

func viaLibPq(ctx context.Context, s string) verdict {
	connector, err := pq.NewConnector(s)
	if err != nil {
		return verdict{Error: err.Error()}
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	var ssl bool
	if err := db.QueryRowContext(ctx, query).Scan(&ssl); err != nil {
		return verdict{Error: err.Error()}
	}
	return verdict{OK: true, SSL: &ssl}
}

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "pgx" && os.Args[1] != "lib-pq") {
		fmt.Fprintln(os.Stderr, "usage: driverprobe pgx|lib-pq < strings")
		os.Exit(2)
	}
	probe := viaPgx
	if os.Args[1] == "lib-pq" {
		probe = viaLibPq
	}
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
