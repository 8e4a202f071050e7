//go:build !linux

package password

import "os/exec"

// prepareWorker and lowerWorkerPriority do nothing where per-process-group
// niceness is not available; the worker then runs at normal priority.
func prepareWorker(*exec.Cmd) {}

func lowerWorkerPriority(int) error { return nil }
