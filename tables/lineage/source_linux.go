package lineage

// DefaultSource returns the live processes of this machine: /proc.
func DefaultSource() Source { return NewProcFS("/") }
