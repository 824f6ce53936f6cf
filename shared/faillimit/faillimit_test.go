package faillimit

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func TestBurstThenRate(t *testing.T) {
	l := New(0.5, 3) // three failures in a row, then one every two seconds
	now := t0
	for i := range 3 {
		if !l.Ready("a", now) {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
		l.Fail("a", now)
	}
	if l.Ready("a", now) {
		t.Fatal("ready after the burst was spent")
	}
	if !l.Ready("b", now) {
		t.Fatal("another key must not share a's bucket")
	}
	if l.Ready("a", now.Add(time.Second)) {
		t.Fatal("ready after 1 s at 0.5 tokens/s")
	}
	if !l.Ready("a", now.Add(2*time.Second)) {
		t.Fatal("not ready after 2 s at 0.5 tokens/s")
	}
	// Failing while refused does not dig the bucket deeper than empty.
	l.Fail("a", now)
	l.Fail("a", now)
	if !l.Ready("a", now.Add(2*time.Second)) {
		t.Fatal("an empty bucket went below zero")
	}
	l.Reset("a")
	if !l.Ready("a", now) {
		t.Fatal("not ready after Reset")
	}
}

func TestSweepsRefilledAndIdleBuckets(t *testing.T) {
	l := New(1, 2)
	now := t0
	l.Fail("a", now)
	l.Fail("b", now)
	l.Fail("b", now)
	if l.Len() != 2 {
		t.Fatalf("Len %d, want 2", l.Len())
	}
	// A minute later both buckets are full again, the same as none.
	now = now.Add(sweepEvery + time.Second)
	l.Fail("c", now)
	if l.Len() != 1 {
		t.Fatalf("after the sweep Len %d, want 1 (only c)", l.Len())
	}
	if !l.Ready("a", now) || !l.Ready("c", now) {
		t.Fatal("swept and fresh buckets must be ready")
	}

	// A bucket that never refills (rate 0) is still dropped once idle.
	z := New(0, 1)
	z.Fail("x", t0)
	z.Fail("y", t0.Add(Idle+time.Second))
	if z.Len() != 1 || z.Ready("x", t0.Add(Idle+time.Second)) != true {
		t.Fatalf("idle bucket kept: Len %d", z.Len())
	}
}
