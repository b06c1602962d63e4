package agentapi_test

import "crypto/sha256"

func sha256Key(k string) []byte { s := sha256.Sum256([]byte(k)); return s[:] }
