//go:build tools

// Package tools pins etcd's server command for pgtls's local cluster.
package tools

import _ "go.etcd.io/etcd/server/v3"
