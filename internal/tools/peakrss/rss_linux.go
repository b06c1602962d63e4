package main

// rssUnit: Linux reports ru_maxrss in KiB.
const rssUnit = 1024
