package store

import "encoding/json"

// jsonArg encodes v for a "?::jsonb" placeholder. gorm expands Go slices
// into "(?, ?, …)" lists, so batches travel as one JSON document instead.
func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values of this package's own types reach here.
		panic("store: encode json argument: " + err.Error())
	}
	return string(b)
}
