package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/slipwayhq/slipway/shared/store"
	"github.com/slipwayhq/slipway/shared/store/embedded"
)

// sickStore declares a Health capability that fails while full is set.
type sickStore struct {
	store.Store
	full atomic.Bool
}

func (s *sickStore) Capabilities() store.Capabilities {
	c := s.Store.Capabilities()
	c.Health = func(context.Context) error {
		if s.full.Load() {
			return errors.New("no space left on device")
		}
		return nil
	}
	return c
}

// TestHealthReportsStoreRefusingWrites: /health answers 503 with Keptn's
// error body while the store refuses writes, and OK once it takes them.
func TestHealthReportsStoreRefusingWrites(t *testing.T) {
	st, err := embedded.OpenOptions(filepath.Join(t.TempDir(), "store"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sick := &sickStore{Store: st}
	h := New(Config{Tokens: []string{testToken}, HistoryTokens: []string{testHistoryToken}}, Deps{Store: sick})
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
		return w
	}
	if w := get(); w.Code != http.StatusOK {
		t.Fatalf("healthy store: %d %s", w.Code, w.Body)
	}
	sick.full.Store(true)
	w := get()
	wantError(t, w, http.StatusServiceUnavailable, "no space left")
	sick.full.Store(false)
	if w := get(); w.Code != http.StatusOK {
		t.Fatalf("store back: %d %s", w.Code, w.Body)
	}
}
