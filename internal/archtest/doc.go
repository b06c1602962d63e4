// Package archtest holds the architecture test: the dependency rules of
// ../shared/DESIGN.md, checked on the real import graph.
package archtest
