// The pod sandbox's process for the bed's real node: it holds the pod's namespaces open, reaps the
// zombies of processes that share its PID namespace, and exits on SIGINT or SIGTERM. Built as a
// static binary into a one-file image by hack/testbed/images.sh, because no registry is reachable.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
