package main

import "os"

// maxRSS is not measured on Windows (the figure would need the job-object API).
func maxRSS(*os.ProcessState) (int64, bool) { return 0, false }
