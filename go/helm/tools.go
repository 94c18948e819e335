//go:build tools

// Package tools pins Helm's command for installing pgtls's chart (tests, `pgtls up --operator=chart`).
package tools

import _ "helm.sh/helm/v3/cmd/helm"
