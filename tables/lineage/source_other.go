//go:build !linux && !windows && !darwin

package lineage

import "context"

// DefaultSource returns a Source whose every call fails with ErrUnsupported.
func DefaultSource() Source { return unsupported{} }

type unsupported struct{}

func (unsupported) List(context.Context) ([]Proc, error)     { return nil, ErrUnsupported }
func (unsupported) Get(context.Context, int64) (Proc, error) { return Proc{}, ErrUnsupported }
