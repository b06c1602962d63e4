//go:build !linux

package auditlog

import (
	"fmt"

	"github.com/exechunt/exechunt/tables/event"
)

// Multicast reads the kernel's audit stream; only Linux has one.
type Multicast struct{}

// OpenMulticast fails with ErrNoMulticast: only Linux has an audit stream.
func OpenMulticast(host string) (*Multicast, error) {
	return nil, fmt.Errorf("%w: not Linux", ErrNoMulticast)
}

// Drain hands nothing over.
func (m *Multicast) Drain(fn func(*event.Event)) (int64, error) { return 0, nil }

// Close does nothing.
func (m *Multicast) Close() error { return nil }

// AddExecveRules fails: only Linux has audit rules.
func AddExecveRules() error { return fmt.Errorf("audit rules: not Linux") }

// ExecveRuleLoaded fails: only Linux has audit rules.
func ExecveRuleLoaded() (bool, error) { return false, fmt.Errorf("audit rules: not Linux") }
