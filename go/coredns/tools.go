//go:build tools

// Package tools pins CoreDNS, the cluster DNS of the kubelet runtime. Nothing
// here is compiled into pgtls.
package tools

import (
	_ "github.com/coredns/coredns"
)
