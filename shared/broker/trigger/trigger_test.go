package trigger

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const d = 200 * time.Millisecond
	tests := map[string]struct {
		policy  BackoffPolicy
		delay   time.Duration
		attempt int
		want    time.Duration
	}{
		"exponential 0":        {BackoffExponential, d, 0, d},
		"exponential 1":        {BackoffExponential, d, 1, 2 * d},
		"exponential 3":        {BackoffExponential, d, 3, 8 * d},
		"exponential 9":        {BackoffExponential, d, 9, 512 * d},
		"linear 0":             {BackoffLinear, d, 0, 0},
		"linear 1":             {BackoffLinear, d, 1, d},
		"linear 4":             {BackoffLinear, d, 4, 4 * d},
		"no policy":            {"", d, 3, 0},
		"no delay":             {BackoffExponential, 0, 3, 0},
		"negative attempt":     {BackoffExponential, d, -1, 0},
		"exponential capped":   {BackoffExponential, time.Hour, 200, time.Duration(math.MaxInt64)},
		"linear large ok":      {BackoffLinear, time.Second, 1000, 1000 * time.Second},
		"unknown policy no-op": {"fibonacci", d, 2, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Backoff(tc.policy, tc.delay, tc.attempt); got != tc.want {
				t.Fatalf("Backoff = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRetryDelaySchedule(t *testing.T) {
	def := DefaultDelivery()
	var got []time.Duration
	for n := 1; n <= 4; n++ {
		got = append(got, def.RetryDelay(n))
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("default schedule = %v, want %v", got, want)
		}
	}
	lin := Delivery{BackoffPolicy: BackoffLinear, BackoffDelay: time.Second}
	if lin.RetryDelay(1) != 0 || lin.RetryDelay(3) != 2*time.Second {
		t.Fatalf("linear schedule: %v %v", lin.RetryDelay(1), lin.RetryDelay(3))
	}
	if def.Retry != 10 {
		t.Fatalf("default retry = %d, want 10", def.Retry)
	}
}

func TestResolve(t *testing.T) {
	services := map[string]string{"control-plane": "http://127.0.0.1:8081", "executor": "http://127.0.0.1:8082/base/"}
	tests := map[string]struct {
		dst     Destination
		want    string
		wantErr string
	}{
		"ref":              {dst: Destination{Ref: &Ref{Kind: "Service", Name: "control-plane"}}, want: "http://127.0.0.1:8081"},
		"uri":              {dst: Destination{URI: "http://127.0.0.1:9/x"}, want: "http://127.0.0.1:9/x"},
		"ref plus path":    {dst: Destination{Ref: &Ref{Kind: "Service", Name: "executor"}, URI: "hooks"}, want: "http://127.0.0.1:8082/base/hooks"},
		"unknown ref":      {dst: Destination{Ref: &Ref{Kind: "Service", Name: "nope"}}, wantErr: `unknown subscriber Service "nope"`},
		"relative uri":     {dst: Destination{URI: "/x"}, wantErr: "absolute http(s) URL"},
		"empty":            {dst: Destination{}, wantErr: "neither"},
		"lists known refs": {dst: Destination{Ref: &Ref{Kind: "Service", Name: "nope"}}, wantErr: "known: control-plane, executor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.dst.Resolve(services)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
