// Package psdecode peels the layers attackers wrap around PowerShell: the
// -EncodedCommand base64 of UTF-16LE text, [Convert]::FromBase64String blobs
// (optionally Gzip/Deflate compressed), [char] codes and char arithmetic, number
// lists split on character classes (decimal, binary, octal, hex, -bxor), string
// concatenation, the -f format operator, -join, -replace/.Replace, backtick ticks,
// reversed strings, and the automatic-variable tricks that spell iex
// ($env:ComSpec[4,15,25], $PSHome[4], $ShellId[1], ...). String literals are
// read as the PowerShell parser reads them (escapes, here-strings, typographic
// quotes), variables assigned one literal are replaced by it, and
// [string]::Join/Concat, -split, index picks and .Insert/.Substring/.Remove on
// literals are evaluated.
//
// Invocations lists the programs a script starts (at the start of a statement,
// with & or ., Start-Process, Win32_Process Create, .NET and COM methods) as
// the command lines those programs receive.
//
// Every step is bounded: the input considered, the size of any decoded text, the
// number of layers and the bytes inflated from a compressed stream all have
// limits (see Limits), so a gzip bomb or a 50 MB blob costs a bounded, small
// amount of work. Nothing here executes or evaluates arbitrary code: each
// transform rewrites literal text only.
package psdecode
