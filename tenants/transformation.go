package tenants

import (
	"fmt"
	"time"
)

// Transformation is an endpoint's JavaScript transformation (Svix's
// handler(webhook)): code that may reshape or cancel each webhook before
// it is sent. Variables are secret, sealed at rest, and never shown back
// in the clear.
type Transformation struct {
	EndpointID string
	Code       *string // nil: none
	Enabled    bool
	Variables  map[string]string
	UpdatedAt  *time.Time // nil: never set
}

// Active reports whether the transformation runs on deliveries.
func (t Transformation) Active() bool { return t.Enabled && t.Code != nil && *t.Code != "" }

// TransformationPatch holds the fields of PATCH …/transformation: absent
// keeps, null clears, a value replaces. A variable whose value is
// MaskedValue keeps its stored value (what GET showed can be sent back).
type TransformationPatch struct {
	Code      Optional[string]
	Enabled   *bool
	Variables Optional[map[string]string]
}

// MaskedValue stands in for a secret value the API does not show.
const MaskedValue = "********"

// Limits of a transformation's variables.
const (
	MaxTransformationVariables = 64
	maxVariableName            = 128
	maxVariableValue           = 4096
)

// Apply applies p to t: a masked variable keeps t's value of that name
// (and is dropped if t has none).
func (t *Transformation) Apply(p TransformationPatch) {
	if p.Code.Set {
		if p.Code.Null {
			t.Code = nil
		} else {
			c := p.Code.Value
			t.Code = &c
		}
	}
	if p.Enabled != nil {
		t.Enabled = *p.Enabled
	}
	if p.Variables.Set {
		next := map[string]string{}
		if !p.Variables.Null {
			for k, v := range p.Variables.Value {
				if v == MaskedValue {
					old, ok := t.Variables[k]
					if !ok {
						continue
					}
					v = old
				}
				next[k] = v
			}
		}
		t.Variables = next
	}
}

// ValidateTransformationVariables checks a transformation's variables:
// at most MaxTransformationVariables, names of 1–128 characters, values
// of at most 4096.
func ValidateTransformationVariables(vars map[string]string) error {
	if len(vars) > MaxTransformationVariables {
		return InvalidAt([]string{"body", "variables"}, fmt.Sprintf("at most %d variables", MaxTransformationVariables))
	}
	for k, v := range vars {
		if k == "" || len(k) > maxVariableName {
			return InvalidAt([]string{"body", "variables"}, fmt.Sprintf("variable names are 1 to %d characters", maxVariableName))
		}
		if len(v) > maxVariableValue {
			return InvalidAt([]string{"body", "variables", k}, fmt.Sprintf("a variable's value is at most %d characters", maxVariableValue))
		}
	}
	return nil
}
