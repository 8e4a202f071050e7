//go:build !linux

package password

// setThreadNice is a no-op where niceness is not per thread.
func setThreadNice(int) {}
