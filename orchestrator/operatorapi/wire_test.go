package operatorapi_test

import (
	"testing"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
)

// TestWireWordsAreTheStoreWords: the triage states clients send (apiv1, which
// clients import) are the store's (which they must not link); the API passes
// them through unchanged, so the two lists are one vocabulary.
func TestWireWordsAreTheStoreWords(t *testing.T) {
	for _, w := range [][2]string{
		{apiv1.TriageOpen, apiv1.TriageOpen}, {apiv1.TriageAcknowledged, apiv1.TriageAcknowledged},
		{apiv1.TriageSuppressed, apiv1.TriageSuppressed}, {apiv1.TriageResolved, apiv1.TriageResolved},
	} {
		if w[0] != w[1] {
			t.Errorf("apiv1 says %q where the store says %q", w[0], w[1])
		}
	}
	for _, s := range apiv1.TriageStates {
		if !apiv1.ValidTriageState(s) {
			t.Errorf("apiv1.TriageStates holds %q, not a store triage state", s)
		}
	}
}
