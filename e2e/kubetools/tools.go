//go:build tools

// Package kubetools only pins the commands e2e/apiserver.sh builds, so that
// go.sum lists every module they need.
package kubetools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
