package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + info.GoVersion
	}
	return v
}

func runVersion(_ context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("tollgate version", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() { fmt.Fprintln(env.stderr, "Usage: tollgate version\n\nPrints the version of this binary.") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "tollgate", versionString())
	return nil
}
