// SPDX-License-Identifier: GPL-3.0-or-later
// etcd for the tests' real API server (tests/support/realkube), built by scripts/bootstrap from the
// go.etcd.io/etcd/server/v3 Go module: the upstream etcdmain, unchanged.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
