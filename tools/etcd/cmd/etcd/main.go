// Command etcd is etcd's server, built from the published module so the dev
// stack and the admission e2e tests can run a real kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
