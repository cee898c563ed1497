package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// readBody reads the request body, at most limit bytes; a larger body is a
// 413. A non-empty body whose Content-Type is given and is not JSON is a
// 415 (no Content-Type at all is read as JSON: the Svix SDKs send none
// on a request without a body, and curl users often forget it).
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &tenants.Error{Code: tenants.CodeBadRequest, Reason: "generic_error", Message: "could not read the request body"}
	}
	if len(b) > 0 {
		if err := checkJSONContentType(c.GetHeader("Content-Type")); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// checkJSONContentType accepts an absent Content-Type, application/json
// and any application/…+json (parameters such as charset allowed); any
// other is an unsupported_media_type error.
func checkJSONContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil
	}
	return &tenants.Error{Code: tenants.CodeUnsupportedMedia, Message: "the body must be JSON: send Content-Type: application/json (or none)"}
}

// Bounds on free-text fields. Svix's OpenAPI document sets none; these are
// long enough for any real name or note and keep a list page's rows small.
const (
	maxAppNameChars             = 256
	maxEndpointDescriptionChars = 1024
	maxEventTypeDescChars       = 4096
)

// checkLength refuses a string longer than max characters (runes).
func checkLength(field string, v *string, max int) error {
	if v != nil && utf8.RuneCountInString(*v) > max {
		return tenants.Invalid(field, fmt.Sprintf("must be at most %d characters", max))
	}
	return nil
}

// checkVersion accepts an absent or null version and an integer from 1 to
// 65535 (the SDKs' uint16), written as a plain JSON integer: no string,
// fraction or exponent.
func checkVersion(raw json.RawMessage) error {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	if n, err := strconv.ParseUint(string(v), 10, 16); err != nil || n < 1 || v[0] == '+' {
		return tenants.Invalid("version", "must be an integer from 1 to 65535")
	}
	return nil
}

// checkObject accepts an absent or null field and a JSON object.
func checkObject(field string, raw json.RawMessage) error {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" || v[0] == '{' {
		return nil // json.Unmarshal has checked it is valid JSON
	}
	return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body", field}, Message: "must be a JSON object", Type: "type_error.dict"}
}

// within returns err with its loc moved under the body field outer (for
// an object nested in a body, such as MessageIn.application).
func within(outer string, err error) error {
	var ve *tenants.Error
	if !errors.As(err, &ve) || len(ve.Loc) == 0 || ve.Loc[0] != "body" {
		return err
	}
	loc := append([]string{"body", outer}, ve.Loc[1:]...)
	return &tenants.Error{Code: ve.Code, Reason: ve.Reason, Loc: loc, Message: ve.Message, Type: ve.Type}
}

// bodyTime is a time in a request body (RFC 3339). A value that does not
// parse is a 422 whose loc names the field, as a wrongly typed field is,
// instead of one on the whole body.
type bodyTime struct{ time.Time }

// UnmarshalJSON reads an RFC 3339 string; anything else is a
// *json.UnmarshalTypeError, which encoding/json completes with the field.
func (t *bodyTime) UnmarshalJSON(b []byte) error {
	if err := t.Time.UnmarshalJSON(b); err != nil {
		return &json.UnmarshalTypeError{Value: "value that is not an RFC 3339 date-time", Type: reflect.TypeFor[time.Time]()}
	}
	return nil
}

// timePtr returns the time t holds, nil for nil.
func (t *bodyTime) timePtr() *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

// decodeJSON reads the body into v. Malformed JSON, a body that is not an
// object or not UTF-8, a NUL in a string (outside the top-level fields
// named in raw), and wrongly typed fields are 422s whose loc names the
// field. Unknown fields are ignored.
func (s *Server) decodeJSON(c *gin.Context, v any, raw ...string) error {
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	return decodeBytes(b, v, raw...)
}

// decodeOptionalJSON is decodeJSON for a route whose body may be left out:
// an empty body leaves v as it is.
func (s *Server) decodeOptionalJSON(c *gin.Context, v any) error {
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil || len(b) == 0 {
		return err
	}
	return decodeBytes(b, v)
}

// decodeBytes is decodeJSON on a body already read.
func decodeBytes(b []byte, v any, raw ...string) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body"}, Message: "the body must be a JSON object", Type: "value_error.jsondecode"}
	}
	if err := checkBodyBytes(b, raw...); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		var ve *tenants.Error
		switch {
		case errors.As(err, &ve):
			return ve
		case errors.As(err, &ute):
			loc := []string{"body"}
			if ute.Field != "" {
				loc = append(loc, strings.Split(ute.Field, ".")...)
			}
			if ute.Type == reflect.TypeFor[time.Time]() {
				return &tenants.Error{Code: tenants.CodeInvalid, Loc: loc, Message: "must be an RFC 3339 date-time, such as 2030-01-02T15:04:05Z", Type: "value_error.datetime"}
			}
			return &tenants.Error{Code: tenants.CodeInvalid, Loc: loc, Message: fmt.Sprintf("expected %s, got JSON %s", ute.Type, ute.Value), Type: "type_error"}
		case errors.As(err, &se):
			return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body"}, Message: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se), Type: "value_error.jsondecode"}
		default:
			return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body"}, Message: err.Error(), Type: "value_error.jsondecode"}
		}
	}
	return nil
}

var uidRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,256}$`)

// checkUID validates a uid: 1–256 characters of [a-zA-Z0-9-_.], not
// starting with the id prefix of its kind (so ids and uids never collide).
func checkUID(field string, uid *string, prefix string) error {
	if uid == nil {
		return nil
	}
	if !uidRE.MatchString(*uid) {
		return tenants.Invalid(field, "must be 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
	}
	if strings.HasPrefix(*uid, prefix) {
		return tenants.Invalid(field, fmt.Sprintf("must not start with %q", prefix))
	}
	return nil
}

// checkPathRef validates the {id or uid} of a PUT, which creates the
// entity with that uid when nothing matches: anything that is not an id of
// its kind must pass checkUID, exactly as a uid in a create body does
// (loc names the path parameter).
func checkPathRef(param, ref, prefix string) error {
	if tenants.IsID(prefix, ref) {
		return nil
	}
	if err := checkUID(param, &ref, prefix); err != nil {
		var ve *tenants.Error
		if errors.As(err, &ve) {
			return tenants.InvalidAt([]string{"path", param}, ve.Message)
		}
		return err
	}
	return nil
}

// checkMetadata limits metadata to 4096 bytes of JSON.
func checkMetadata(m map[string]string) error {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	if len(b) > 4096 {
		return tenants.Invalid("metadata", "metadata must be at most 4096 bytes")
	}
	return nil
}

func checkRate(field string, r *int) error {
	if r != nil && (*r < 1 || *r > 65535) {
		return tenants.Invalid(field, "must be between 1 and 65535")
	}
	return nil
}

// listParams reads limit, iterator and order. defaultDesc is the route's
// default order.
func listParams(c *gin.Context, defaultDesc bool) (tenants.ListParams, error) {
	p := tenants.ListParams{Limit: tenants.DefaultLimit, Desc: defaultDesc}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, tenants.InvalidAt([]string{"query", "limit"}, "limit must be a positive integer")
		}
		if n > tenants.MaxLimit {
			return p, tenants.InvalidAt([]string{"query", "limit"}, fmt.Sprintf("limit must be at most %d", tenants.MaxLimit))
		}
		p.Limit = n
	}
	it, err := parseIterator(c.Query("iterator"))
	if err != nil {
		return p, err
	}
	p.Iterator = it
	switch c.Query("order") {
	case "":
	case "ascending":
		p.Desc = false
	case "descending":
		p.Desc = true
	default:
		return p, tenants.InvalidAt([]string{"query", "order"}, "order must be ascending or descending")
	}
	return p, nil
}

// iteratorRE is what our iterators look like: an optional "-" (page
// backwards) and the key of an item, an id or an event-type name.
var iteratorRE = regexp.MustCompile(`^-?[a-zA-Z0-9\-_.:]{1,256}$`)

// parseIterator checks an iterator query value; "" means the first page.
// Anything but an optional "-" and up to 256 characters of
// [a-zA-Z0-9-_.:] could never have come from a page, so it is a 422.
func parseIterator(v string) (string, error) {
	if v == "" || iteratorRE.MatchString(v) {
		return v, nil
	}
	return "", tenants.InvalidAt([]string{"query", "iterator"}, "not an iterator from a previous page")
}

// boolQuery reads a boolean query parameter ("true"/"false", "1"/"0").
func boolQuery(c *gin.Context, name string, def bool) (bool, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, tenants.InvalidAt([]string{"query", name}, "must be true or false")
	}
	return b, nil
}

// timeQuery reads an RFC 3339 query parameter; zero when absent.
func timeQuery(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, tenants.InvalidAt([]string{"query", name}, "must be an RFC 3339 date-time")
	}
	return t, nil
}

// listQuery reads a list-valued query parameter given as repeated keys,
// "name[]" keys, or one comma-separated value.
func listQuery(c *gin.Context, name string) []string {
	var out []string
	for _, key := range []string{name, name + "[]"} {
		for _, v := range c.QueryArray(key) {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
	}
	return out
}

// listOut is the Svix list envelope.
type listOut[T any] struct {
	Data         []T     `json:"data"`
	Iterator     *string `json:"iterator"`
	PrevIterator *string `json:"prevIterator,omitempty"`
	Done         bool    `json:"done"`
}

func toList[D, W any](pg tenants.Page[D], conv func(D) W) listOut[W] {
	out := listOut[W]{Data: make([]W, 0, len(pg.Items)), Done: pg.Done}
	for _, it := range pg.Items {
		out.Data = append(out.Data, conv(it))
	}
	if pg.Iterator != "" {
		out.Iterator = &pg.Iterator
		out.PrevIterator = &pg.PrevIterator
	}
	return out
}
