package engine_test

import (
	"testing"

	"github.com/slipwayhq/slipway/shared/engine"
	"github.com/slipwayhq/slipway/shared/keptn"
)

// TestControlView holds the context view to Keptn 1.4.5's materialised view
// (shipyard-controller sequencestate.go OnSequencePaused/OnSequenceResumed):
// a pause without a stage marks the context paused and leaves the stages'
// states; a stage pause marks only that stage; resuming a stage shows it
// started; resuming the context shows the context started.
func TestControlView(t *testing.T) {
	type ctl struct {
		a     engine.Action
		stage string
	}
	cases := map[string]struct {
		ctls                 []ctl
		wantState, wantStage string
	}{
		"pause context":                    {[]ctl{{engine.Pause, ""}}, engine.ViewPaused, engine.ViewTriggered},
		"pause stage":                      {[]ctl{{engine.Pause, "dev"}}, engine.ViewStarted, engine.ViewPaused},
		"resume stage":                     {[]ctl{{engine.Pause, "dev"}, {engine.Resume, "dev"}}, engine.ViewStarted, engine.ViewStarted},
		"resume context":                   {[]ctl{{engine.Pause, ""}, {engine.Resume, ""}}, engine.ViewStarted, engine.ViewTriggered},
		"context pause over stage":         {[]ctl{{engine.Pause, "dev"}, {engine.Pause, ""}}, engine.ViewPaused, engine.ViewPaused},
		"stage pause over context":         {[]ctl{{engine.Pause, ""}, {engine.Pause, "dev"}}, engine.ViewPaused, engine.ViewPaused},
		"context pause after stage resume": {[]ctl{{engine.Pause, "dev"}, {engine.Resume, "dev"}, {engine.Pause, ""}}, engine.ViewPaused, engine.ViewStarted},
		"context resume of paused stage":   {[]ctl{{engine.Pause, "dev"}, {engine.Resume, ""}}, engine.ViewStarted, engine.ViewTriggered},
		"pause other stage":                {[]ctl{{engine.Pause, "hardening"}}, engine.ViewStarted, engine.ViewTriggered},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, testShipyard)
			kctx := s.trigger("dev", "twotasks", "carts", nil)
			s.respond(s.mustLast(tt("task1"), kctx), keptn.KindStarted, "x", keptn.Data{Status: keptn.StatusSucceeded}, nil)
			for _, x := range c.ctls {
				s.ctl(kctx, x.a, x.stage)
			}
			v := s.view(kctx)
			if v.State != c.wantState || len(v.Stages) != 1 || v.Stages[0].State != c.wantStage {
				t.Fatalf("view = %s, stages %+v; want %s, dev %s", v.State, v.Stages, c.wantState, c.wantStage)
			}
		})
	}
}

// A run created in a paused stage shows that stage paused, not the context.
func TestControlViewRunCreatedInPausedStage(t *testing.T) {
	s := newSim(t, testShipyard)
	kctx := s.trigger("dev", "artifact-delivery", "carts", nil)
	s.ctl(kctx, engine.Pause, "hardening")
	for _, task := range []string{"deployment", "test", "evaluation", "release"} {
		s.run(s.mustLast(tt(task), kctx), keptn.ResultPass, nil)
	}
	v := s.view(kctx)
	states := map[string]string{}
	for _, st := range v.Stages {
		states[st.Name] = st.State
	}
	if v.State == engine.ViewPaused || states["hardening"] != engine.ViewPaused {
		t.Fatalf("view = %s, stages %v", v.State, states)
	}
	s.ctl(kctx, engine.Resume, "hardening")
	if v := s.view(kctx); v.Stages[len(v.Stages)-1].State != engine.ViewStarted {
		t.Fatalf("after resume: %+v", v.Stages)
	}
}
