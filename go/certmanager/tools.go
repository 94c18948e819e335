//go:build tools

// Package tools pins cert-manager's controller command. v1.11.5 is the last
// release whose cmd/controller sits inside the root module, so the Go module
// proxy can serve it (later releases moved main into a nested module whose
// path does not match its folder).
package tools

import _ "github.com/cert-manager/cert-manager/cmd/controller"
