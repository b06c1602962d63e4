package operatorapi_test

import (
	"testing"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// TestWireWordsAreTheStoreWords: the triage states clients send (apiv1, which
// clients import) are the store's (which they must not link); the API passes
// them through unchanged, so the two lists are one vocabulary.
func TestWireWordsAreTheStoreWords(t *testing.T) {
	for _, w := range [][2]string{
		{apiv1.TriageOpen, store.TriageOpen}, {apiv1.TriageAcknowledged, store.TriageAcknowledged},
		{apiv1.TriageSuppressed, store.TriageSuppressed}, {apiv1.TriageResolved, store.TriageResolved},
	} {
		if w[0] != w[1] {
			t.Errorf("apiv1 says %q where the store says %q", w[0], w[1])
		}
	}
	for _, s := range apiv1.TriageStates {
		if !store.ValidTriageState(s) {
			t.Errorf("apiv1.TriageStates holds %q, not a store triage state", s)
		}
	}
}
