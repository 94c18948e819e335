//go:build tools

// Package tools pins crictl, the CRI client the kubelet runtime uses to check
// containerd and to run pods by hand. Nothing here is compiled into pgtls.
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
)
