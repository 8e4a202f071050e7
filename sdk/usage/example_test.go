package usage_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/tollgate/tollgate/sdk/usage"
)

// The agent runtime reports every LLM call it makes for a tenant's agent.
func Example() {
	reporter, err := usage.New(usage.Config{
		URL:          "http://127.0.0.1:9200",
		ClientID:     os.Getenv("TOLLGATE_CLIENT_ID"), // a service holding usage:write
		ClientSecret: os.Getenv("TOLLGATE_CLIENT_SECRET"),
		Source:       "//agents/runtime",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		// On shutdown: send what is queued, for at most ten seconds.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := reporter.Close(ctx); err != nil {
			log.Print(err) // "usage: 12 events not delivered: …"
		}
	}()

	// On every LLM call: never blocks, never fails the call.
	err = reporter.Report(context.Background(), usage.Event{
		Type:    usage.TypeLLM,
		Tenant:  "01j9z3k6q8w5e4r3t2y1u0i9o8",
		Subject: "agent:7f3a",
		Data:    usage.LLM{Model: "gpt-4o", InputTokens: 1200, OutputTokens: 310},
	})
	if err != nil {
		log.Print(err) // usage.ErrDropped when the buffer is full
	}

	// For metrics: what became of the events.
	s := reporter.Stats()
	log.Printf("usage: %d reported, %d accepted, %d dropped", s.Reported, s.Accepted, s.Dropped)
}
