package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
)

// testBadPageToken: a listing given a token it did not hand out either reads
// it as a position (tokens are opaque, some drivers accept any decodable one)
// or refuses it with store.ErrBadPageToken, never another error, so the API
// answers 400 instead of 500. Tokens that decode to nothing are refused.
func testBadPageToken(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		tok     string
		refused bool // no driver can read it as a position
	}{
		{"!!not-base64", true},
		{"\"", true},
		{"deploy", false},
		{"e30", false},
	} {
		p := store.Page{Size: 10, Token: tc.tok}
		listings := map[string]func() error{
			"ListRuns": func() error { _, _, err := s.ListRuns(ctx, store.RunQuery{Project: "p"}, p); return err },
			"ListOpen": func() error {
				_, _, err := s.ListOpen(ctx, store.OpenQuery{Type: "sh.keptn.event.deployment.triggered", Project: "p"}, p)
				return err
			},
			"ListProjects": func() error { _, _, err := s.ListProjects(ctx, p); return err },
			"ListEvents":   func() error { _, _, err := s.ListEvents(ctx, store.EventQuery{Project: "p"}, p); return err },
			"ListResources": func() error {
				_, _, err := s.ListResources(ctx, "p", "", "", p)
				return err
			},
		}
		for name, list := range listings {
			err := list()
			switch {
			case tc.refused && !errors.Is(err, store.ErrBadPageToken):
				t.Errorf("%s with token %q: err = %v, want store.ErrBadPageToken", name, tc.tok, err)
			case err != nil && !errors.Is(err, store.ErrBadPageToken):
				t.Errorf("%s with token %q: err = %v, want nil or store.ErrBadPageToken", name, tc.tok, err)
			}
		}
	}
}
