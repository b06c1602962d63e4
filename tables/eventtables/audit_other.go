//go:build !linux

package eventtables

// startAudit: only Linux has the audit subsystem.
func (s *Store) startAudit() {
	if s.opt.Audit != "" && s.opt.Audit != "off" {
		s.log.Info("audit: the Linux audit sources exist only on Linux", "mode", s.opt.Audit)
	}
}
