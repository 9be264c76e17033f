// SPDX-License-Identifier: GPL-3.0-or-later
// kube-apiserver for the tests' real API server (tests/support/realkube), built by scripts/bootstrap
// from the k8s.io/kubernetes Go module: the upstream command, unchanged.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
