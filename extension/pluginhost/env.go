package pluginhost

import (
	"os"
	"runtime"
)

// pluginEnv is the environment a plugin starts with, before go-plugin adds its
// handshake variables: none of the host's (it may hold secrets: osqueryd's
// enrollment settings, proxy credentials), except what a Go program needs to run on
// Windows (SYSTEMROOT for the network stack, TEMP for its unix socket folder).
func pluginEnv() []string {
	if runtime.GOOS != "windows" {
		return []string{}
	}
	var env []string
	for _, k := range []string{"SYSTEMROOT", "TEMP", "TMP"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
