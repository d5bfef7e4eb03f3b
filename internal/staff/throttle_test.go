package staff_test

import (
	"math"
	"testing"
	"time"

	"github.com/patchday/patchday/internal/staff"
)

func TestSignInWait(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{math.MinInt, 0},
		{-1, 0},
		{0, 0},
		{1, 0},
		{2, 0}, // the first three failures are free: people mistype
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 8 * time.Second},
		{6, 16 * time.Second},
		{10, 256 * time.Second},
		{11, 512 * time.Second},
		{12, 15 * time.Minute}, // 1024s, capped
		{13, 15 * time.Minute},
		{100, 15 * time.Minute},
		{math.MaxInt, 15 * time.Minute},
	}
	for _, tt := range tests {
		if got := staff.SignInWait(tt.failures); got != tt.want {
			t.Errorf("SignInWait(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestSignInWaitMonotonicAndCapped(t *testing.T) {
	prev := time.Duration(0)
	for n := range 1000 {
		got := staff.SignInWait(n)
		if got < prev {
			t.Fatalf("SignInWait(%d) = %v, less than SignInWait(%d) = %v", n, got, n-1, prev)
		}
		if got > 15*time.Minute {
			t.Fatalf("SignInWait(%d) = %v, over the 15m cap", n, got)
		}
		prev = got
	}
}
