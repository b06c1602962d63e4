package simulate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// proc is one benign process creation of the background: image and command line,
// created by the process at index parent of the same list (-1: by a process not in
// the list, parentImage).
type proc struct {
	parent      int
	parentImage string
	image, cmd  string
	user        string
}

// backgroundTrees are the process creations every simulated host has: what most
// workstations and servers of a fleet run, so that a pair of the evidence seen on
// one host is rare against them. One tree per platform.
var backgroundTrees = map[string][]proc{
	"windows": {
		{-1, `C:\Windows\System32\smss.exe`, `C:\Windows\System32\wininit.exe`, `wininit.exe`, `NT AUTHORITY\SYSTEM`},
		{0, "", `C:\Windows\System32\services.exe`, `C:\Windows\system32\services.exe`, `NT AUTHORITY\SYSTEM`},
		{1, "", `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p`, `NT AUTHORITY\SYSTEM`},
		{1, "", `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k LocalService -p`, `NT AUTHORITY\LOCAL SERVICE`},
		{1, "", `C:\Windows\System32\spoolsv.exe`, `C:\Windows\System32\spoolsv.exe`, `NT AUTHORITY\SYSTEM`},
		{1, "", `C:\Windows\System32\SearchIndexer.exe`, `C:\Windows\system32\SearchIndexer.exe /Embedding`, `NT AUTHORITY\SYSTEM`},
		{2, "", `C:\Windows\System32\taskhostw.exe`, `taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}`, `CORP\user`},
		{2, "", `C:\Windows\System32\RuntimeBroker.exe`, `C:\Windows\System32\RuntimeBroker.exe -Embedding`, `CORP\user`},
		{-1, `C:\Windows\System32\winlogon.exe`, `C:\Windows\System32\userinit.exe`, `C:\Windows\system32\userinit.exe`, `CORP\user`},
		{8, "", `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, `CORP\user`},
		{9, "", `C:\Program Files\Google\Chrome\Application\chrome.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe"`, `CORP\user`},
		{10, "", `C:\Program Files\Google\Chrome\Application\chrome.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US`, `CORP\user`},
		{9, "", `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE"`, `CORP\user`},
		{9, "", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\user\Documents\minutes.docx"`, `CORP\user`},
		{9, "", `C:\Users\user\AppData\Local\Microsoft\OneDrive\OneDrive.exe`, `"C:\Users\user\AppData\Local\Microsoft\OneDrive\OneDrive.exe" /background`, `CORP\user`},
		{9, "", `C:\Windows\System32\notepad.exe`, `"C:\Windows\system32\notepad.exe" C:\Users\user\Desktop\todo.txt`, `CORP\user`},
	},
	"linux": {
		{-1, "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", "root"},
		{0, "", "/usr/sbin/sshd", "sshd: user [priv]", "root"},
		{1, "", "/usr/bin/bash", "-bash", "user"},
		{2, "", "/usr/bin/ls", "ls -la", "user"},
		{2, "", "/usr/bin/git", "git status", "user"},
		{2, "", "/usr/bin/vim", "vim notes.md", "user"},
		{-1, "/usr/lib/systemd/systemd", "/usr/sbin/cron", "/usr/sbin/cron -f -P", "root"},
		{6, "", "/usr/bin/dash", "/bin/sh -c \"test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily\"", "root"},
		{7, "", "/usr/bin/run-parts", "run-parts --report /etc/cron.daily", "root"},
		{-1, "/usr/lib/systemd/systemd", "/usr/sbin/nginx", "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", "root"},
		{-1, "/usr/lib/systemd/systemd", "/usr/bin/python3.12", "/usr/bin/python3 /usr/bin/unattended-upgrade", "root"},
	},
}

// writeBackground writes the background tree of each platform as Sysmon process
// creations (event 1) in JSON lines to dir, dated from start on, and returns the
// file of each platform. The offline engine reads them like any evidence, so the
// background answers every table and query the evidence does.
func writeBackground(dir string, start time.Time) (map[string]string, error) {
	files := map[string]string{}
	for platform, tree := range backgroundTrees {
		provider, channel, computer := "Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational", "WS-BACKGROUND"
		if platform == "linux" {
			provider, channel, computer = "Linux-Sysmon", "Linux-Sysmon/Operational", "srv-background"
		}
		guid := func(i int) string { return fmt.Sprintf("{5f1d0000-0000-0000-0000-%012x}", i+1) }
		var b strings.Builder
		for i, p := range tree {
			parentGUID, parentPID, parentImage, parentCmd := guid(1000+i), 4, p.parentImage, p.parentImage
			if p.parent >= 0 {
				parentGUID, parentPID = guid(p.parent), 1000+p.parent*4
				parentImage, parentCmd = tree[p.parent].image, tree[p.parent].cmd
			}
			line, err := json.Marshal(map[string]any{
				"@timestamp": start.Add(time.Duration(i) * time.Second).UTC().Format(time.RFC3339Nano),
				"winlog": map[string]any{"channel": channel, "computer_name": computer, "event_id": 1,
					"provider_name": provider, "record_id": i + 1,
					"event_data": map[string]string{"ProcessGuid": guid(i), "ProcessId": fmt.Sprint(1000 + i*4),
						"Image": p.image, "CommandLine": p.cmd, "User": p.user,
						"ParentProcessGuid": parentGUID, "ParentProcessId": fmt.Sprint(parentPID),
						"ParentImage": parentImage, "ParentCommandLine": parentCmd}},
			})
			if err != nil {
				return nil, err
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		path := filepath.Join(dir, "background-"+platform+".jsonl")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			return nil, fmt.Errorf("background evidence: %w", err)
		}
		files[platform] = path
	}
	return files, nil
}
