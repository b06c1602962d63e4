// Package analysis decodes, tags and scores what executed: process command lines
// (Sysmon 1, Security 4688, Sysmon for Linux) and PowerShell script blocks
// (4104). Every table and the offline engine call it, so it is pure (no I/O, no
// build tags, standard library only) and safe on any input: a panic is recovered
// into the analysis_error tag, and decoding is bounded in depth, size and time.
//
// A Result carries the parse (program, family, argv, normalised flags), the
// decoded layers, URLs and IPs, stable indicator tags and a 0..100 score. The
// score is the sum of the documented weights of the tags found (see Tags and
// docs/indicators.md), clamped to 0..100; context tags such as module_code have
// negative weights and lower it. Weights are calibrated so that one strong
// malicious signal reaches 50 while ordinary administration stays well below.
//
// Sub-packages keep one job each: cmdline splits command lines, psdecode peels
// PowerShell obfuscation layers.
package analysis
