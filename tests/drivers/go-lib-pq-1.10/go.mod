module pgtls.dev/driverprobe-lib-pq-1.10

go 1.26

require github.com/lib/pq v1.10.9
