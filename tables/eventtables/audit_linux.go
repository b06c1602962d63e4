package eventtables

import (
	"os"
	"slices"

	"github.com/exechunt/exechunt/tables/source/auditlog"
)

// AuditLogPath is auditd's log, tailed when the kernel's audit stream cannot be read.
const AuditLogPath = "/var/log/audit/audit.log"

// startAudit chooses the audit source at the first read (Options.Audit), installs
// the rules the configuration asks for, and says in the log which source it reads.
func (s *Store) startAudit() {
	mode := s.opt.Audit
	if mode == "" || mode == "off" {
		return
	}
	if slices.Contains(s.opt.AuditRules, "execve") {
		if err := auditlog.AddExecveRules(); err != nil {
			s.log.Warn("audit: could not install the execve rules (audit_rules: [execve])", "err", err)
		} else {
			s.log.Info("audit: execve rules installed (audit_rules: [execve])", "rules", auditlog.ExecveRules)
		}
	}
	defer func() {
		if s.multicast == nil && !slices.Contains(s.paths, AuditLogPath) {
			return
		}
		if ok, err := auditlog.ExecveRuleLoaded(); err == nil && !ok {
			s.log.Warn("audit: no execve rule is loaded, so the audit source carries no process creations: add one (docs/linux-audit.md) or set audit_rules: [execve]")
		}
	}()
	var why error
	if mode == "auto" || mode == "multicast" {
		m, err := auditlog.OpenMulticast(auditlog.Hostname())
		if err == nil {
			s.multicast = m
			s.log.Info("audit: reading the kernel audit multicast group (process creations from execve records)")
			return
		}
		why = err
	}
	if mode == "auto" || mode == "log" {
		if f, err := os.Open(AuditLogPath); err == nil {
			f.Close()
			if !slices.Contains(s.paths, AuditLogPath) {
				s.paths = append(s.paths, AuditLogPath)
			}
			s.log.Info("audit: tailing "+AuditLogPath, "multicast", errText(why))
			return
		} else if why == nil {
			why = err
		}
	}
	s.log.Info("audit: no audit source on this host", "mode", mode, "err", errText(why))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
