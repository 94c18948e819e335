//go:build tools

// Package tools pins the Kubernetes control-plane commands that pgtls builds
// for its local cluster. Nothing here is compiled into pgtls itself.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
