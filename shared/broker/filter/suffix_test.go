package filter

import "testing"

func TestSuffix(t *testing.T) {
	tests := map[string]struct {
		attrs   map[string]string
		want    Result
		wantErr bool
	}{
		"type suffix":            {attrs: map[string]string{"type": ".completed"}, want: Pass},
		"whole value":            {attrs: map[string]string{"type": "com.example.wf.step.completed"}, want: Pass},
		"not a suffix":           {attrs: map[string]string{"type": ".started"}, want: Fail},
		"missing extension":      {attrs: map[string]string{"nosuch": "x"}, want: Fail},
		"unset subject":          {attrs: map[string]string{"subject": "a"}, want: Fail},
		"extension suffix":       {attrs: map[string]string{"workflowid": "-42"}, want: Pass},
		"int extension via %v":   {attrs: map[string]string{"attempt": "3"}, want: Pass},
		"case-sensitive":         {attrs: map[string]string{"type": ".Completed"}, want: Fail},
		"two keys ANDed":         {attrs: map[string]string{"type": "completed", "source": "build"}, want: Pass},
		"two keys one fails":     {attrs: map[string]string{"type": "completed", "source": "deploy"}, want: Fail},
		"empty suffix refused":   {attrs: map[string]string{"type": ""}, wantErr: true},
		"empty attribute refuse": {attrs: map[string]string{"": "x"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := NewSuffix(tc.attrs)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Evaluate(testEvent(t)); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}
