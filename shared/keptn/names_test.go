package keptn

import (
	"regexp"
	"testing"
)

func TestValidateName(t *testing.T) {
	for name, tc := range map[string]struct {
		in string
		ok bool
	}{
		"plain":          {"carts", true},
		"dash and digit": {"carts-db2", true},
		"single letter":  {"a", true},
		"empty":          {"", false},
		"leading digit":  {"1carts", false},
		"leading dash":   {"-carts", false},
		"trailing dash":  {"carts-", false},
		"upper case":     {"Carts", false},
		"backslash":      {`car\ts`, false},
		"dollar":         {"car$ts", false},
		"semicolon":      {"carts;rm", false},
		"quote":          {"car'ts", false},
		"double quote":   {`car"ts`, false},
		"backtick":       {"car`id`ts", false},
		"blank":          {"car ts", false},
		"slash":          {"car/ts", false},
		"dot":            {"car.ts", false},
		"underscore":     {"car_ts", false},
		"unicode":        {"cärts", false},
		"bidi control":   {"carts\u202e", false},
		"nul":            {"carts\x00", false},
		"newline":        {"carts\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := ValidateName(tc.in); (err == nil) != tc.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestScopeValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		s  Scope
		ok bool
	}{
		"full":          {Scope{Project: "p", Stage: "dev", Service: "carts"}, true},
		"project only":  {Scope{Project: "p"}, true},
		"bad service":   {Scope{Project: "p", Stage: "dev", Service: "x;rm -rf"}, false},
		"bad stage":     {Scope{Project: "p", Stage: "$(id)"}, false},
		"bad project":   {Scope{Project: "P"}, false},
		"nothing is ok": {Scope{}, true},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.s.Validate(); (err == nil) != tc.ok {
				t.Fatalf("%+v: %v, want ok=%v", tc.s, err, tc.ok)
			}
		})
	}
}

// FuzzValidateName holds the hand-written check to Keptn's regular
// expressions.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"carts", "a", "a-", "-a", "a1-b", "A", "a\u202e", "ä", ""} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^([a-z][a-z0-9-]*[a-z0-9]|[a-z][a-z0-9]*)$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidateName(s) == nil, re.MatchString(s); got != want {
			t.Fatalf("ValidateName(%q) ok=%v, Keptn's rule says %v", s, got, want)
		}
	})
}
