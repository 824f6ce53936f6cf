package trigger

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"fraction of second": {in: "PT0.2S", want: 200 * time.Millisecond},
		"comma fraction":     {in: "PT0,5S", want: 500 * time.Millisecond},
		"seconds":            {in: "PT20S", want: 20 * time.Second},
		"minutes seconds":    {in: "PT1M30S", want: 90 * time.Second},
		"hours":              {in: "PT2H", want: 2 * time.Hour},
		"day and time":       {in: "P1DT1H", want: 25 * time.Hour},
		"week":               {in: "P1W", want: 7 * 24 * time.Hour},
		"fraction of minute": {in: "PT0.5M", want: 30 * time.Second},
		"lower case":         {in: "pt1s", want: time.Second},
		"zero":               {in: "PT0S", want: 0},
		"empty":              {in: "", wantErr: true},
		"only P":             {in: "P", wantErr: true},
		"only PT":            {in: "PT", wantErr: true},
		"no unit":            {in: "PT5", wantErr: true},
		"negative":           {in: "-PT1S", wantErr: true},
		"years":              {in: "P1Y", wantErr: true},
		"months":             {in: "P1M", wantErr: true},
		"seconds outside T":  {in: "P5S", wantErr: true},
		"go syntax":          {in: "200ms", wantErr: true},
		"unit twice":         {in: "PT1S2S", wantErr: true},
		"T twice":            {in: "PT1HT1S", wantErr: true},
		"bad number":         {in: "PT1.2.3S", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
