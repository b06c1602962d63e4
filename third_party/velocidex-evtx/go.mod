module www.velocidex.com/golang/evtx

go 1.25.0

require (
	github.com/Velocidex/ordereddict v0.0.0-20250821063524-02dc06e46238
	github.com/pkg/errors v0.9.1
)
