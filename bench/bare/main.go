// Command bare serves a minimal net/http handler. BENCHMARKS.md reports
// Tollgate's throughput as a ratio to it, measured in the same run on the
// same cores, so that the numbers mean something on any machine.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9299", "address to listen on")
	flag.Parse()
	body := []byte(`{"status":"ok"}` + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*listen, h))
}
