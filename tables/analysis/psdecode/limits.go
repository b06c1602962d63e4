package psdecode

import "time"

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
	if l.MaxLayers <= 0 {
		l.MaxLayers = d.MaxLayers
	}
	if l.MaxInput <= 0 {
		l.MaxInput = d.MaxInput
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.MaxBase64 <= 0 {
		l.MaxBase64 = d.MaxBase64
	}
	if l.Budget <= 0 {
		l.Budget = d.Budget
	}
	return l
}
