package kafka

import (
	"testing"
	"time"
)

func TestTxnSpacerIdleNeverWaits(t *testing.T) {
	var s TxnSpacer
	start := time.Now()
	s.Wait()
	if d := time.Since(start); d >= TxnSpacing {
		t.Fatalf("Wait before any transaction took %s, want no wait", d)
	}
}

func TestTxnSpacerKeepsTransactionsApart(t *testing.T) {
	var s TxnSpacer
	for range 3 {
		s.Ended()
		ended := time.Now()
		s.Wait()
		if gap := time.Since(ended); gap < TxnSpacing {
			t.Fatalf("Wait returned %s after the last end, want at least %s", gap, TxnSpacing)
		}
	}
}
