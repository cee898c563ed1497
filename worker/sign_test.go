package worker

import (
	"encoding/json"
	"os"
	"testing"
)

func TestSigner_Vectors(t *testing.T) {
	b, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Comment   string   `json:"comment"`
		Secrets   []string `json:"secrets"`
		MsgID     string   `json:"msg_id"`
		Timestamp int64    `json:"timestamp"`
		Body      string   `json:"body"`
		Want      string   `json:"want"`
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		s, err := NewSigner(v.Secrets)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Sign(v.MsgID, v.Timestamp, []byte(v.Body)); got != v.Want {
			t.Errorf("%s:\n got %s\nwant %s", v.Comment, got, v.Want)
		}
	}
}

func BenchmarkSigner_Sign(b *testing.B) {
	s, _ := NewSigner([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	body := []byte(`{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_123"}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
	}
}
