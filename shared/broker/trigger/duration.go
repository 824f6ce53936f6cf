package trigger

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses an ISO-8601 duration as Knative's delivery fields
// use them (backoffDelay, timeout): P[nW][nD][T[nH][nM][nS]], each number an
// integer or a decimal fraction ("." or ","), e.g. PT0.2S, PT1M30S, P1D.
// Years and months have no fixed length and are refused, as are negative and
// empty durations.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	fail := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("invalid ISO-8601 duration %q: %s", orig, why)
	}
	if strings.HasPrefix(s, "-") {
		return fail("must not be negative")
	}
	s = strings.TrimPrefix(s, "+")
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') {
		return fail(`want "P" followed by at least one component, e.g. PT0.2S`)
	}
	s = s[1:]
	var total float64
	inTime := false
	seen := map[string]bool{}
	components := 0
	for len(s) > 0 {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return fail(`"T" twice`)
			}
			inTime = true
			s = s[1:]
			if len(s) == 0 {
				return fail(`nothing after "T"`)
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == 0 {
			return fail(fmt.Sprintf("expected a number at %q", s))
		}
		if i == len(s) {
			return fail(fmt.Sprintf("number %q has no unit", s))
		}
		num, err := strconv.ParseFloat(strings.ReplaceAll(s[:i], ",", "."), 64)
		if err != nil {
			return fail(fmt.Sprintf("bad number %q", s[:i]))
		}
		unit := strings.ToUpper(s[i : i+1])
		s = s[i+1:]
		var scale time.Duration
		switch {
		case !inTime && unit == "W":
			scale = 7 * 24 * time.Hour
		case !inTime && unit == "D":
			scale = 24 * time.Hour
		case !inTime && (unit == "Y" || unit == "M"):
			return fail("years and months are not supported (no fixed length); use weeks, days or time components")
		case inTime && unit == "H":
			scale = time.Hour
		case inTime && unit == "M":
			scale = time.Minute
		case inTime && unit == "S":
			scale = time.Second
		default:
			return fail(fmt.Sprintf("unexpected unit %q", unit))
		}
		key := unit
		if inTime {
			key = "T" + unit
		}
		if seen[key] {
			return fail(fmt.Sprintf("unit %q twice", unit))
		}
		seen[key] = true
		components++
		total += num * float64(scale)
	}
	if components == 0 {
		return fail("no components")
	}
	if total > math.MaxInt64 {
		return fail("too long")
	}
	return time.Duration(math.Round(total)), nil
}
