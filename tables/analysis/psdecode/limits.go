package psdecode

import (
	"cmp"
	"time"
)

// Limits bound the work of decoding. The zero value means DefaultLimits.
type Limits struct {
	// MaxLayers is the most decoding steps recorded (and performed).
	MaxLayers int
	// MaxInput is the most bytes of input text that transforms look at; the
	// rest is ignored (and Truncated is reported).
	MaxInput int
	// MaxOutput is the most bytes any decoded text may have; longer results are
	// cut to this size.
	MaxOutput int
	// MaxBase64 is the most base64 characters decoded from one blob.
	MaxBase64 int
	// Budget is a wall-clock safety net for one Deobfuscate call; the limits
	// above are what bound the work deterministically.
	Budget time.Duration
}

// DefaultLimits are sized for real payloads (Empire stagers, Invoke-Obfuscation
// output, compressed loaders) while keeping the worst case well under 100 ms.
func DefaultLimits() Limits {
	return Limits{
		MaxLayers: 16,
		MaxInput:  64 << 10,
		MaxOutput: 1 << 20,
		MaxBase64: 1 << 20,
		Budget:    50 * time.Millisecond,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.MaxLayers = cmp.Or(max(l.MaxLayers, 0), d.MaxLayers)
	l.MaxInput = cmp.Or(max(l.MaxInput, 0), d.MaxInput)
	l.MaxOutput = cmp.Or(max(l.MaxOutput, 0), d.MaxOutput)
	l.MaxBase64 = cmp.Or(max(l.MaxBase64, 0), d.MaxBase64)
	l.Budget = cmp.Or(max(l.Budget, 0), d.Budget)
	return l
}
