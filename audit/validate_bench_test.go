package audit

import "testing"

// BenchmarkValidateDecision: the check every decision event passes twice
// on its way to the store (the recorder's and the store's).
func BenchmarkValidateDecision(b *testing.B) {
	e := Event{
		ID: "01jq4w8x3v0000000000000000", Time: sample().Time, TenantID: "01jq4w8x3v0000000000000001",
		ActorID: "service:01jq4w8x3v0000000000000002", CredentialKind: "service", CredentialID: "01jq4w8x3v0000000000000003",
		Action: ActionDecision, TargetType: "channel", TargetID: "general", Outcome: Denied, Reason: "no permit applies",
		ClientIP: "127.0.0.1", UserAgent: "wrk/4.2.0", RequestID: "01jq4w8x3v0000000000000004", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Detail: map[string]string{"action": "SEND_MESSAGE", "principal": "user:01jq4w8x3v0000000000000005",
			"decision_id": "01jq4w8x3v0000000000000006", "policy_version": "3"},
	}
	for b.Loop() {
		if err := e.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
