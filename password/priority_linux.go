package password

import "syscall"

// setThreadNice lowers the calling thread's priority. On Linux niceness is
// per thread (setpriority on a thread id), and raising it needs no privilege.
func setThreadNice(n int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
}
