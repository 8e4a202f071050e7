package password

import (
	"os/exec"
	"syscall"
)

// workerNice is the lowest priority: hashing gets the CPU nothing else wants.
const workerNice = 19

// prepareWorker puts the child in its own process group, so that its
// priority can be set for all of its threads at once, and so that a Ctrl-C
// in a terminal reaches only the server, which then closes the worker.
func prepareWorker(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// lowerWorkerPriority renices every thread of the child's process group;
// Linux keeps niceness per thread, and threads the child starts later
// inherit it from the niced ones.
func lowerWorkerPriority(pid int) error {
	return syscall.Setpriority(syscall.PRIO_PGRP, pid, workerNice)
}
