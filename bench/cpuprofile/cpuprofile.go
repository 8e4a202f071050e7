//go:build tollgate_cpuprofile

// This file is compiled into cmd/tollgate only by bench/lib.sh with cpuprofile=1
// (go build -tags tollgate_cpuprofile -overlay), so that a benchmark can
// take a pprof CPU profile of the real server during one wrk round without
// Tollgate serving a profiling endpoint: SIGUSR1 starts writing a profile
// to $TOLLGATE_CPUPROFILE, SIGUSR2 stops and flushes it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("TOLLGATE_CPUPROFILE")
	if path == "" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range sig {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path); err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "cpuprofile:", err)
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				_ = f.Close()
				f = nil
			}
		}
	}()
}
