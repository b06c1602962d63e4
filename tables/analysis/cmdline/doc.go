// Package cmdline splits command lines into argument vectors the way the programs
// that receive them do: Windows programs with the CommandLineToArgvW / MSVC rules
// (after cmd.exe has removed its ^ escapes), POSIX shells with quotes, backslashes,
// pipeline operators and bash brace expansion. It is pure and never fails: any
// input yields some split, because logs contain truncated and hostile text.
package cmdline
