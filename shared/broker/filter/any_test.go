package filter

import "testing"

func TestAny(t *testing.T) {
	tests := map[string]struct {
		children []Filter
		want     Result
	}{
		"no children":         {nil, NoFilter},
		"one pass":            {[]Filter{fixed(Pass)}, Pass},
		"one fail":            {[]Filter{fixed(Fail)}, Fail},
		"all fail":            {[]Filter{fixed(Fail), fixed(Fail)}, Fail},
		"one passes":          {[]Filter{fixed(Fail), fixed(Pass), fixed(Fail)}, Pass},
		"nofilter is neutral": {[]Filter{fixed(NoFilter), fixed(Fail)}, Fail},
		"only nofilter":       {[]Filter{fixed(NoFilter), fixed(NoFilter)}, NoFilter},
		"fail then nofilter":  {[]Filter{fixed(Fail), fixed(NoFilter)}, Fail},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := NewAny(tc.children...).Evaluate(testEvent(t)); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
