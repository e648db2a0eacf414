// Package migrations holds the SQL schema of trcledger, applied in order by goose.
package migrations

import "embed"

// FS holds every NNNN_name.sql migration file.
//
//go:embed *.sql
var FS embed.FS
