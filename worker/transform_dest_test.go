package worker

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/transform"
)

// TestDestProgram_PerDestination: two destinations with the same code get
// programs of their own (globals a handler keeps stay with its
// destination), while one destination gets the same program again.
func TestDestProgram_PerDestination(t *testing.T) {
	s := &senders{transform: transform.NewEngine(transform.Options{}),
		programs: ttlcache.New[[32]byte, compiled](destProgramCacheSize, destProgramTTL)}
	code := `var seen = []; function handler(input) { seen.push(input.tag); return {payloads: seen}; }`
	run := func(destID, tag string) string {
		t.Helper()
		p, err := s.destProgram(context.Background(), destID, code)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.RunBatch(context.Background(), json.RawMessage(`{"tag":"`+tag+`"}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Body)
	}
	run("dest_a", "a1")
	if got := run("dest_b", "b1"); got != `{"payloads":["b1"]}` {
		t.Errorf("destination b saw %s, want only its own batch", got)
	}
	if got := run("dest_a", "a2"); got != `{"payloads":["a1","a2"]}` {
		t.Errorf("destination a saw %s, want its two batches (one program, reused)", got)
	}
}
