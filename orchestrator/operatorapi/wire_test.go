package operatorapi_test

import (
	"testing"

	"github.com/exechunt/exechunt/orchestrator/apiv1"
	"github.com/exechunt/exechunt/orchestrator/store"
)

// TestWireWordsAreTheStoreWords: the API passes the store's state words through
// unchanged, and apiv1 names them for clients (which must not link the store).
// The two lists are one vocabulary; this test keeps them from drifting.
func TestWireWordsAreTheStoreWords(t *testing.T) {
	for _, w := range [][2]string{
		{apiv1.QueryRunning, store.QueryRunning}, {apiv1.QueryDone, store.QueryDone}, {apiv1.QueryCancelled, store.QueryCancelled},
		{apiv1.HostPending, store.HostPending}, {apiv1.HostSent, store.HostSent}, {apiv1.HostOK, store.HostOK},
		{apiv1.HostNoRows, store.HostNoRows}, {apiv1.HostError, store.HostError}, {apiv1.HostOffline, store.HostOffline},
		{apiv1.TriageOpen, store.TriageOpen}, {apiv1.TriageAcknowledged, store.TriageAcknowledged},
		{apiv1.TriageSuppressed, store.TriageSuppressed}, {apiv1.TriageResolved, store.TriageResolved},
		{apiv1.ModeDispatch, store.ModeDispatch}, {apiv1.ModePush, store.ModePush},
		{apiv1.RunRunning, store.RunRunning}, {apiv1.RunDone, store.RunDone}, {apiv1.RunFailed, store.RunFailed},
		{apiv1.RunInterrupted, store.RunInterrupted}, {apiv1.TriggerSchedule, store.TriggerSchedule},
		{apiv1.TriggerManual, store.TriggerManual},
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
	for s, final := range map[string]bool{apiv1.HostOK: true, apiv1.HostNoRows: true, apiv1.HostError: true,
		apiv1.HostOffline: true, apiv1.HostPending: false, apiv1.HostSent: false} {
		if store.TerminalHostState(s) != final {
			t.Errorf("host state %s: final %v to apiv1's clients, %v to the store", s, final, !final)
		}
	}
}
