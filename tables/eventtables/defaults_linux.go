package eventtables

// defaultPaths on Linux: Sysmon for Linux writes to syslog (Debian/Ubuntu) or messages
// (RHEL/SUSE).
func defaultPaths() []string {
	return []string{"/var/log/syslog", "/var/log/messages"}
}
