package tenants

import (
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
