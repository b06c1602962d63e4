package analysis

import "math"

// Entropy returns the Shannon entropy of s in bits per byte (0 for ""). Plain
// English and PowerShell sit near 4.5–5.2; base64 near 6; compressed or
// encrypted bytes approach 8.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// CosineSimilarity is osquery's powershell_events.cosine_similarity: the cosine
// between the text's character-frequency vector (each byte value b < 255 counts
// 1/len(text), len in bytes) and a reference vector (VectorLen weights; a
// shorter vector is zero-padded, extra weights are ignored). It returns 0 for an
// empty text or a zero vector, where osquery would divide by zero.
func CosineSimilarity(text string, vector []float64) float64 {
	if text == "" {
		return 0
	}
	var freq [VectorLen]float64
	inc := 1 / float64(len(text))
	for i := 0; i < len(text); i++ {
		if b := text[i]; b < VectorLen {
			freq[b] += inc
		}
	}
	var dot, m1, m2 float64
	for i := 0; i < VectorLen; i++ {
		var v float64
		if i < len(vector) {
			v = vector[i]
		}
		dot += freq[i] * v
		m1 += freq[i] * freq[i]
		m2 += v * v
	}
	if m1 == 0 || m2 == 0 {
		return 0
	}
	return dot / (math.Sqrt(m1) * math.Sqrt(m2))
}
