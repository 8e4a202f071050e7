package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// signedSample is one delivery as a receiver saw it, and the secret it
// should verify with.
type signedSample struct {
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
	Body      string `json:"body"`
	// Forged samples must be refused.
	Forged bool `json:"-"`
}

// standardWebhooksVersion is the official JavaScript library the
// signatures are checked with, independently of Tollgate's own code.
const standardWebhooksVersion = "standardwebhooks@1.1.1"

// verifyScript verifies every sample read from stdin with the library's
// Webhook.verify and prints one result per sample: "ok" or the error.
const verifyScript = `
const { Webhook } = require("standardwebhooks");
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((s) => {
    try {
      new Webhook(s.secret).verify(s.body, {
        "webhook-id": s.id, "webhook-timestamp": s.timestamp, "webhook-signature": s.signature,
      });
      return "ok";
    } catch (e) {
      return String(e.message || e);
    }
  });
  process.stdout.write(JSON.stringify(out));
});
`

// verifyWithStandardWebhooks installs the official Standard Webhooks
// library from npm into a temporary directory and checks every sample
// with it. It skips (saying why) when node or npm is missing or the
// registry cannot be reached.
func verifyWithStandardWebhooks(t *testing.T, samples []signedSample) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		t.Skip("node and npm are needed to verify the signatures with the official Standard Webhooks library")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, standardWebhooksVersion)
	install.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, ".npm"))
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("cannot install %s from npm (offline?): %v\n%s", standardWebhooksVersion, err, out)
	}
	script := filepath.Join(dir, "verify.js")
	if err := os.WriteFile(script, []byte(verifyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(samples)
	if err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, node, script)
	run.Dir = dir
	run.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []string
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(samples) {
		t.Fatalf("node answered %s, %v", out, err)
	}
	for i, r := range results {
		if (r == "ok") == samples[i].Forged {
			t.Errorf("the Standard Webhooks library answered %q for sample %d (%s, forged %v)", r, i, samples[i].ID, samples[i].Forged)
		}
	}
	t.Logf("%d deliveries verified with %s", len(samples), standardWebhooksVersion)
}
