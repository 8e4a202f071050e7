package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// engine is one decision endpoint and how to read its answer.
type engine struct {
	name, url, bodies, token string
	// answer takes the decision out of a response body.
	answer func([]byte) (decision, error)
}

func tollgateAnswer(b []byte) (decision, error) {
	var d decision
	err := json.Unmarshal(b, &d)
	return d, err
}

func opaAnswer(b []byte) (decision, error) {
	var out struct {
		Result *decision `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return decision{}, err
	}
	if out.Result == nil {
		return decision{}, fmt.Errorf("no result: %s", b)
	}
	return *out.Result, nil
}

// check asks every engine every request (the bodies wrk sends) and
// compares each answer with the reference decision, reasons as a set.
// Any difference fails the check, listing the first few.
func check(ctx context.Context, dir string, engines []engine) error {
	var expected []decision
	b, err := os.ReadFile(filepath.Join(dir, fileExpected))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &expected); err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var failed []string
	for _, e := range engines {
		bodies, err := readLines(filepath.Join(dir, e.bodies))
		if err != nil {
			return err
		}
		if len(bodies) != len(expected) {
			return fmt.Errorf("%s: %d bodies for %d decisions", e.name, len(bodies), len(expected))
		}
		got := make([]decision, len(bodies))
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i, body := range bodies {
			g.Go(func() error {
				d, err := ask1(ctx, client, e, body)
				if err != nil {
					return fmt.Errorf("%s, request %d: %w", e.name, i, err)
				}
				slices.Sort(d.Reasons)
				got[i] = d
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		var diffs []string
		permits := 0
		for i := range got {
			if got[i].Decision == "permit" {
				permits++
			}
			if got[i].Decision != expected[i].Decision || !slices.Equal(got[i].Reasons, expected[i].Reasons) {
				diffs = append(diffs, fmt.Sprintf("  request %d %s: got %s %v, want %s %v", i, bodies[i], got[i].Decision, got[i].Reasons, expected[i].Decision, expected[i].Reasons))
			}
		}
		fmt.Printf("check %s: %d of %d decisions as the reference (%d permits)\n", e.name, len(got)-len(diffs), len(got), permits)
		if len(diffs) > 0 {
			failed = append(failed, fmt.Sprintf("%s differs from the reference on %d of %d requests:\n%s", e.name, len(diffs), len(got), strings.Join(diffs[:min(len(diffs), 10)], "\n")))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "\n"))
	}
	return nil
}

func ask1(ctx context.Context, client *http.Client, e engine, body string) (decision, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", e.url, bytes.NewReader([]byte(body)))
	if err != nil {
		return decision{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return decision{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return decision{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return decision{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return e.answer(b)
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out, s.Err()
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}
