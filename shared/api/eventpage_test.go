package api

import (
	"strconv"
	"strings"
	"testing"
)

// TestEventPagesAreOffsets walks the history as go-utils v0.20.4 does:
// nextPageKey is an integer offset, "0" ends the walk, and a client that
// stops after N pages compares strconv.Atoi(nextPageKey) with N.
func TestEventPagesAreOffsets(t *testing.T) {
	e := newEnv(t, Config{})
	e.mkProject(t, "p", "carts", "web", "api")
	e.seedEvents(t) // 32 events
	base := "/api/mongodb-datastore/event?project=p&pageSize=5"

	var all []string
	key, pages := "", 0
	for {
		w := e.do(t, "GET", base+"&nextPageKey="+key, nil)
		all = append(all, ids(t, w)...)
		pages++
		m := decode[map[string]any](t, w)
		key = m["nextPageKey"].(string)
		if key == "0" {
			if m["totalCount"] != float64(32) {
				t.Fatalf("last page totalCount %v", m["totalCount"])
			}
			break
		}
		n, err := strconv.Atoi(key)
		if err != nil || n != 5*pages {
			t.Fatalf("page %d: nextPageKey %q is not the offset %d", pages, key, 5*pages)
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(all) != 32 || pages != 7 {
		t.Fatalf("walked %d events in %d pages", len(all), pages)
	}

	// An offset the API did not hand out (another replica, a hand-written
	// key) skips from the start and yields the same events.
	fresh := *e
	fresh.h = New(Config{Tokens: []string{testToken}}, Deps{Store: e.store, Publisher: e.pub, Sequences: e.seq, Clock: e.clock.Now})
	for _, off := range []int{3, 10, 31} {
		w := fresh.do(t, "GET", "/api/mongodb-datastore/event?project=p&pageSize=4&nextPageKey="+strconv.Itoa(off), nil)
		got := ids(t, w)
		want := all[off:min(off+4, 32)]
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("offset %d: got %v, want %v", off, got, want)
		}
	}
	// Past the end: empty, and the walk ends.
	w := e.do(t, "GET", base+"&nextPageKey=40", nil)
	if len(ids(t, w)) != 0 || decode[map[string]any](t, w)["nextPageKey"] != "0" {
		t.Fatalf("past the end: %s", w.Body)
	}
	wantError(t, e.do(t, "GET", base+"&nextPageKey=abc", nil), 400, "nextPageKey")
	wantError(t, e.do(t, "GET", base+"&nextPageKey=100001", nil), 400, "beyond")
}
