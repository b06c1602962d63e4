package main

// rssUnit: macOS reports ru_maxrss in bytes.
const rssUnit = 1
