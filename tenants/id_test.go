package tenants

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestEncodeBase62_Vectors(t *testing.T) {
	// The KSUID specification's extremes: all zero bits and all one bits.
	var zero, max [idBytes]byte
	for i := range max {
		max[i] = 0xff
	}
	for _, tc := range []struct {
		in   [idBytes]byte
		want string
	}{
		{zero, "000000000000000000000000000"},
		{max, "aWgEPTl1tmebfsQzFP4bxwgy80V"},
	} {
		if got := encodeBase62(tc.in); got != tc.want {
			t.Errorf("encodeBase62(%x) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestEncodeBase62_LongDivision: the encoding by 62⁵ at a time writes the
// digits that dividing by 62 one digit at a time writes.
func TestEncodeBase62_LongDivision(t *testing.T) {
	byDigit := func(b [idBytes]byte) string {
		var parts [5]uint32
		for i := range parts {
			parts[i] = binary.BigEndian.Uint32(b[i*4:])
		}
		var out [idEncoded]byte
		for i := idEncoded - 1; i >= 0; i-- {
			var rem uint64
			for j := range parts {
				v := rem<<32 | uint64(parts[j])
				parts[j] = uint32(v / 62)
				rem = v % 62
			}
			out[i] = base62[rem]
		}
		return string(out[:])
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := range 10000 {
		var b [idBytes]byte
		for i := range b {
			switch n % 3 {
			case 0:
				b[i] = byte(rnd.Uint32())
			case 1: // runs of extremes, where carries show
				b[i] = byte(0xff * (rnd.Uint32() % 2))
			default:
				if i >= idBytes-1-int(rnd.Uint32()%idBytes) {
					b[i] = byte(rnd.Uint32())
				}
			}
		}
		if got, want := encodeBase62(b), byDigit(b); got != want {
			t.Fatalf("encodeBase62(%x) = %s, want %s", b, got, want)
		}
	}
}

func TestNewID_SortsByTimeAndRoundTrips(t *testing.T) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 200 {
		ids = append(ids, NewID(PrefixMessage, base.Add(time.Duration(i)*5*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids minted 5 ms apart do not sort in time order")
	}
	got, err := IDTime(PrefixMessage, ids[8])
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(40 * time.Millisecond); !got.Equal(want) {
		t.Errorf("IDTime = %v, want %v", got, want)
	}
	if len(ids[0]) != len(PrefixMessage)+27 {
		t.Errorf("id %q has length %d", ids[0], len(ids[0]))
	}
	lo, hi := IDBound(PrefixMessage, base.Add(40*time.Millisecond), false), IDBound(PrefixMessage, base.Add(40*time.Millisecond), true)
	if !(lo <= ids[8] && ids[8] <= hi && ids[7] < lo && ids[9] > hi) {
		t.Errorf("bounds %s..%s do not bracket %s alone", lo, hi, ids[8])
	}
}

func TestIDTime_Rejects(t *testing.T) {
	for _, s := range []string{"", "app_", "app_short", "ep_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", "app_2Ug6JqzK8ODiTcjjwTnnbxbxq!h", "app_zzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if IsID(PrefixApplication, s) {
			t.Errorf("IsID(app_, %q) = true", s)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		NewID(PrefixAttempt, now)
	}
}
